-- Policy: rules per scope ('org', 'team:ID', 'member:ID'); a member's policy
-- is every scope that applies to them, signed by the hub when they ask.

create table policies (
    org_id      bigint not null references orgs(id),
    scope       text not null check (scope = 'org' or scope ~ '^(team|member):[0-9]+$'),
    rules       jsonb not null,
    updated_at  timestamptz not null default now(),
    updated_by  bigint references members(id),
    primary key (org_id, scope)
);
