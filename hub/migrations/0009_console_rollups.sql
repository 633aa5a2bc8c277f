-- The console's views of members and teams over long periods, and the work
-- people accepted.
--
-- Three more levels of rollups beside 0007's (per member per day) and 0008's
-- (the organisation's):
-- * per team set per day, without the member (`usage_team_daily`, latency
--   `usage_latency_team_monthly`): a team lead's views and the views grouped or
--   filtered by team read a row per team set, not per member;
-- * per member per calendar month, with every dimension (`usage_monthly`,
--   `usage_latency_monthly`): a long period's whole months, for views by
--   member filtered by agent, model…;
-- * per member per day and kind only (`usage_member_daily`, latency
--   `usage_latency_member_monthly`): views by member without such filters,
--   active members per day.

-- How many of an event's findings and edits its member accepted: set by the
-- member's daemon as verdicts come (after the event), and added to every
-- rollup with sums by the update trigger below.
alter table usage_events add column accepted integer not null default 0 check (accepted >= 0);
alter table usage_daily add column accepted bigint not null default 0;
alter table usage_daily_org add column accepted bigint not null default 0;

create table usage_team_daily (
    org_id      bigint not null,
    day         date not null,
    -- the member's teams when the event arrived (as in usage_daily)
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
    accepted    bigint not null default 0,
    primary key (org_id, day, team_ids, kind, agent, provider, model)
);

create table usage_latency_team_monthly (
    org_id      bigint not null,
    -- the month's first day
    month       date not null,
    team_ids    bigint[] not null,
    kind        text not null,
    agent       text not null,
    provider    text not null,
    model       text not null,
    bucket      integer not null,
    count       bigint not null,
    primary key (org_id, month, team_ids, kind, agent, provider, model, bucket)
);

create table usage_monthly (
    org_id      bigint not null,
    month       date not null,
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
    accepted    bigint not null default 0,
    primary key (org_id, month, member_key, team_ids, kind, agent, provider, model)
);

create table usage_latency_monthly (
    org_id      bigint not null,
    month       date not null,
    member_key  bigint not null,
    team_ids    bigint[] not null,
    kind        text not null,
    agent       text not null,
    provider    text not null,
    model       text not null,
    bucket      integer not null,
    count       bigint not null,
    primary key (org_id, month, member_key, team_ids, kind, agent, provider, model, bucket)
);

create table usage_member_daily (
    org_id      bigint not null,
    day         date not null,
    member_key  bigint not null,
    team_ids    bigint[] not null,
    kind        text not null,
    runs        bigint not null,
    errors      bigint not null,
    tokens_in   bigint not null,
    tokens_out  bigint not null,
    cost_usd    numeric(18, 9) not null,
    findings    bigint not null,
    edits       bigint not null,
    accepted    bigint not null default 0,
    primary key (org_id, day, member_key, team_ids, kind)
);

create table usage_latency_member_monthly (
    org_id      bigint not null,
    month       date not null,
    member_key  bigint not null,
    team_ids    bigint[] not null,
    bucket      integer not null,
    count       bigint not null,
    primary key (org_id, month, member_key, team_ids, bucket)
);

-- A member's own views read their rows, not everyone's.
create index usage_daily_member on usage_daily (org_id, member_key, day);
create index usage_latency_member on usage_latency (org_id, member_key, day);
create index usage_monthly_member on usage_monthly (org_id, member_key, month);
create index usage_latency_monthly_member on usage_latency_monthly (org_id, member_key, month);

create function usage_rollup_levels() returns trigger language plpgsql as $$
begin
    -- In key order, as usage_rollup: batches that meet lock rows in one order.
    insert into usage_team_daily as d
    select org_id, (at at time zone 'UTC')::date, team_ids, kind, agent, coalesce(provider, ''), coalesce(model, ''),
           count(*), count(*) filter (where outcome = 'failed'), sum(tokens_in), sum(tokens_out), sum(cost_usd),
           sum(findings), sum(edits), sum(accepted)
      from inserted group by 1, 2, 3, 4, 5, 6, 7 order by 1, 2, 3, 4, 5, 6, 7
    on conflict (org_id, day, team_ids, kind, agent, provider, model) do update
       set runs = d.runs + excluded.runs, errors = d.errors + excluded.errors,
           tokens_in = d.tokens_in + excluded.tokens_in, tokens_out = d.tokens_out + excluded.tokens_out,
           cost_usd = d.cost_usd + excluded.cost_usd, findings = d.findings + excluded.findings,
           edits = d.edits + excluded.edits, accepted = d.accepted + excluded.accepted;
    insert into usage_latency_team_monthly as l
    select org_id, date_trunc('month', at at time zone 'UTC')::date, team_ids, kind, agent, coalesce(provider, ''),
           coalesce(model, ''), latency_bucket(latency_ms), count(*)
      from inserted group by 1, 2, 3, 4, 5, 6, 7, 8 order by 1, 2, 3, 4, 5, 6, 7, 8
    on conflict (org_id, month, team_ids, kind, agent, provider, model, bucket) do update
       set count = l.count + excluded.count;
    insert into usage_monthly as d
    select org_id, date_trunc('month', at at time zone 'UTC')::date, coalesce(member_id, 0), team_ids, kind, agent,
           coalesce(provider, ''), coalesce(model, ''), count(*), count(*) filter (where outcome = 'failed'),
           sum(tokens_in), sum(tokens_out), sum(cost_usd), sum(findings), sum(edits), sum(accepted)
      from inserted group by 1, 2, 3, 4, 5, 6, 7, 8 order by 1, 2, 3, 4, 5, 6, 7, 8
    on conflict (org_id, month, member_key, team_ids, kind, agent, provider, model) do update
       set runs = d.runs + excluded.runs, errors = d.errors + excluded.errors,
           tokens_in = d.tokens_in + excluded.tokens_in, tokens_out = d.tokens_out + excluded.tokens_out,
           cost_usd = d.cost_usd + excluded.cost_usd, findings = d.findings + excluded.findings,
           edits = d.edits + excluded.edits, accepted = d.accepted + excluded.accepted;
    insert into usage_latency_monthly as l
    select org_id, date_trunc('month', at at time zone 'UTC')::date, coalesce(member_id, 0), team_ids, kind, agent,
           coalesce(provider, ''), coalesce(model, ''), latency_bucket(latency_ms), count(*)
      from inserted group by 1, 2, 3, 4, 5, 6, 7, 8, 9 order by 1, 2, 3, 4, 5, 6, 7, 8, 9
    on conflict (org_id, month, member_key, team_ids, kind, agent, provider, model, bucket) do update
       set count = l.count + excluded.count;
    insert into usage_member_daily as d
    select org_id, (at at time zone 'UTC')::date, coalesce(member_id, 0), team_ids, kind, count(*),
           count(*) filter (where outcome = 'failed'), sum(tokens_in), sum(tokens_out), sum(cost_usd), sum(findings),
           sum(edits), sum(accepted)
      from inserted group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5
    on conflict (org_id, day, member_key, team_ids, kind) do update
       set runs = d.runs + excluded.runs, errors = d.errors + excluded.errors,
           tokens_in = d.tokens_in + excluded.tokens_in, tokens_out = d.tokens_out + excluded.tokens_out,
           cost_usd = d.cost_usd + excluded.cost_usd, findings = d.findings + excluded.findings,
           edits = d.edits + excluded.edits, accepted = d.accepted + excluded.accepted;
    insert into usage_latency_member_monthly as l
    select org_id, date_trunc('month', at at time zone 'UTC')::date, coalesce(member_id, 0), team_ids,
           latency_bucket(latency_ms), count(*)
      from inserted group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5
    on conflict (org_id, month, member_key, team_ids, bucket) do update set count = l.count + excluded.count;
    return null;
end
$$;

create trigger usage_events_rollup_levels after insert on usage_events
    referencing new table as inserted for each statement execute function usage_rollup_levels();

-- An event's accepted count changed: the difference goes to its rows in
-- every rollup with sums (they exist: the event made them).
create function usage_accepted() returns trigger language plpgsql as $$
begin
    with deltas as (
        select n.org_id, (n.at at time zone 'UTC')::date as day, coalesce(n.member_id, 0) as member_key, n.team_ids,
               n.kind, n.agent, coalesce(n.provider, '') as provider, coalesce(n.model, '') as model,
               sum(n.accepted - o.accepted) as delta
          from new_rows n join old_rows o on o.seq = n.seq
         where n.accepted <> o.accepted
         group by 1, 2, 3, 4, 5, 6, 7, 8
    ), daily as (
        update usage_daily d set accepted = d.accepted + x.delta from deltas x
         where (d.org_id, d.day, d.member_key, d.team_ids, d.kind, d.agent, d.provider, d.model)
             = (x.org_id, x.day, x.member_key, x.team_ids, x.kind, x.agent, x.provider, x.model)
    ), monthly as (
        update usage_monthly d set accepted = d.accepted + x.delta
          from (select org_id, date_trunc('month', day)::date as month, member_key, team_ids, kind, agent, provider,
                       model, sum(delta) as delta
                  from deltas group by 1, 2, 3, 4, 5, 6, 7, 8) x
         where (d.org_id, d.month, d.member_key, d.team_ids, d.kind, d.agent, d.provider, d.model)
             = (x.org_id, x.month, x.member_key, x.team_ids, x.kind, x.agent, x.provider, x.model)
    ), per_member as (
        update usage_member_daily d set accepted = d.accepted + x.delta
          from (select org_id, day, member_key, team_ids, kind, sum(delta) as delta
                  from deltas group by 1, 2, 3, 4, 5) x
         where (d.org_id, d.day, d.member_key, d.team_ids, d.kind)
             = (x.org_id, x.day, x.member_key, x.team_ids, x.kind)
    ), per_team as (
        update usage_team_daily d set accepted = d.accepted + x.delta
          from (select org_id, day, team_ids, kind, agent, provider, model, sum(delta) as delta
                  from deltas group by 1, 2, 3, 4, 5, 6, 7) x
         where (d.org_id, d.day, d.team_ids, d.kind, d.agent, d.provider, d.model)
             = (x.org_id, x.day, x.team_ids, x.kind, x.agent, x.provider, x.model)
    )
    update usage_daily_org d set accepted = d.accepted + x.delta
      from (select org_id, day, kind, agent, provider, model, sum(delta) as delta
              from deltas group by 1, 2, 3, 4, 5, 6) x
     where (d.org_id, d.day, d.kind, d.agent, d.provider, d.model)
         = (x.org_id, x.day, x.kind, x.agent, x.provider, x.model);
    return null;
end
$$;

create trigger usage_events_accepted after update on usage_events
    referencing old table as old_rows new table as new_rows for each statement execute function usage_accepted();

-- When a member's personal data is deleted, their rolled-up usage joins the
-- anonymous rows (member 0), as their events lose their member: every table
-- with a member dimension, in one place (the team and organisation rollups
-- have none).
create function usage_forget_member(org bigint, member bigint) returns void language plpgsql as $$
begin
    insert into usage_daily as d
    select org_id, day, 0, team_ids, kind, agent, provider, model, runs, errors, tokens_in, tokens_out, cost_usd,
           findings, edits, accepted
      from usage_daily where org_id = org and member_key = member
    on conflict (org_id, day, member_key, team_ids, kind, agent, provider, model) do update
       set runs = d.runs + excluded.runs, errors = d.errors + excluded.errors,
           tokens_in = d.tokens_in + excluded.tokens_in, tokens_out = d.tokens_out + excluded.tokens_out,
           cost_usd = d.cost_usd + excluded.cost_usd, findings = d.findings + excluded.findings,
           edits = d.edits + excluded.edits, accepted = d.accepted + excluded.accepted;
    delete from usage_daily where org_id = org and member_key = member;
    insert into usage_monthly as d
    select org_id, month, 0, team_ids, kind, agent, provider, model, runs, errors, tokens_in, tokens_out, cost_usd,
           findings, edits, accepted
      from usage_monthly where org_id = org and member_key = member
    on conflict (org_id, month, member_key, team_ids, kind, agent, provider, model) do update
       set runs = d.runs + excluded.runs, errors = d.errors + excluded.errors,
           tokens_in = d.tokens_in + excluded.tokens_in, tokens_out = d.tokens_out + excluded.tokens_out,
           cost_usd = d.cost_usd + excluded.cost_usd, findings = d.findings + excluded.findings,
           edits = d.edits + excluded.edits, accepted = d.accepted + excluded.accepted;
    delete from usage_monthly where org_id = org and member_key = member;
    insert into usage_member_daily as d
    select org_id, day, 0, team_ids, kind, runs, errors, tokens_in, tokens_out, cost_usd, findings, edits, accepted
      from usage_member_daily where org_id = org and member_key = member
    on conflict (org_id, day, member_key, team_ids, kind) do update
       set runs = d.runs + excluded.runs, errors = d.errors + excluded.errors,
           tokens_in = d.tokens_in + excluded.tokens_in, tokens_out = d.tokens_out + excluded.tokens_out,
           cost_usd = d.cost_usd + excluded.cost_usd, findings = d.findings + excluded.findings,
           edits = d.edits + excluded.edits, accepted = d.accepted + excluded.accepted;
    delete from usage_member_daily where org_id = org and member_key = member;
    insert into usage_latency as l
    select org_id, day, 0, team_ids, kind, agent, provider, model, bucket, count
      from usage_latency where org_id = org and member_key = member
    on conflict (org_id, day, member_key, team_ids, kind, agent, provider, model, bucket) do update
       set count = l.count + excluded.count;
    delete from usage_latency where org_id = org and member_key = member;
    insert into usage_latency_monthly as l
    select org_id, month, 0, team_ids, kind, agent, provider, model, bucket, count
      from usage_latency_monthly where org_id = org and member_key = member
    on conflict (org_id, month, member_key, team_ids, kind, agent, provider, model, bucket) do update
       set count = l.count + excluded.count;
    delete from usage_latency_monthly where org_id = org and member_key = member;
    insert into usage_latency_member_monthly as l
    select org_id, month, 0, team_ids, bucket, count
      from usage_latency_member_monthly where org_id = org and member_key = member
    on conflict (org_id, month, member_key, team_ids, bucket) do update set count = l.count + excluded.count;
    delete from usage_latency_member_monthly where org_id = org and member_key = member;
    insert into usage_active select org_id, day, 0 from usage_active where org_id = org and member_key = member
    on conflict do nothing;
    delete from usage_active where org_id = org and member_key = member;
end
$$;

-- What arrived before this migration.
insert into usage_team_daily
select org_id, day, team_ids, kind, agent, provider, model, sum(runs), sum(errors), sum(tokens_in), sum(tokens_out),
       sum(cost_usd), sum(findings), sum(edits)
  from usage_daily group by 1, 2, 3, 4, 5, 6, 7;
insert into usage_latency_team_monthly
select org_id, date_trunc('month', day)::date, team_ids, kind, agent, provider, model, bucket, sum(count)
  from usage_latency group by 1, 2, 3, 4, 5, 6, 7, 8;
insert into usage_monthly
select org_id, date_trunc('month', day)::date, member_key, team_ids, kind, agent, provider, model, sum(runs),
       sum(errors), sum(tokens_in), sum(tokens_out), sum(cost_usd), sum(findings), sum(edits)
  from usage_daily group by 1, 2, 3, 4, 5, 6, 7, 8;
insert into usage_latency_monthly
select org_id, date_trunc('month', day)::date, member_key, team_ids, kind, agent, provider, model, bucket, sum(count)
  from usage_latency group by 1, 2, 3, 4, 5, 6, 7, 8, 9;
insert into usage_member_daily
select org_id, day, member_key, team_ids, kind, sum(runs), sum(errors), sum(tokens_in), sum(tokens_out),
       sum(cost_usd), sum(findings), sum(edits)
  from usage_daily group by 1, 2, 3, 4, 5;
insert into usage_latency_member_monthly
select org_id, date_trunc('month', day)::date, member_key, team_ids, bucket, sum(count)
  from usage_latency group by 1, 2, 3, 4, 5;
