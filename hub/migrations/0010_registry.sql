-- The organisation's private agent registry: a TUF repository whose files are
-- served by every replica (or exported to an object store), and its role keys,
-- sealed under a key only the replicas hold (their policy key file).

create table registries (
    org_id      bigint primary key references orgs(id),
    -- root.json: what members' daemons pin.
    root        bytea not null,
    -- The role keys (root, targets, snapshot, timestamp, licensing): nonce ||
    -- AES-256-GCM of their JSON, the org id as associated data.
    keys        bytea not null,
    -- When the first of the current signatures runs out; replicas re-sign before.
    expires_at  timestamptz,
    created_at  timestamptz not null default now(),
    created_by  bigint references members(id)
);

create table registry_files (
    org_id  bigint not null references registries(org_id),
    -- metadata/<file> or targets/<file>, as served.
    path    text not null check (path ~ '^(metadata|targets)/[A-Za-z0-9][A-Za-z0-9._-]*$'),
    body    bytea not null,
    primary key (org_id, path)
);
