-- Who first published each package of the organisation's registry: a team
-- lead publishes new versions of their own packages only; admins and managers
-- of any (a package name belongs to the organisation, a team lead's to them).

create table registry_owners (
    org_id     bigint not null references registries(org_id),
    name       text not null,
    -- None: first published with the break-glass token.
    member_id  bigint references members(id),
    primary key (org_id, name)
);
