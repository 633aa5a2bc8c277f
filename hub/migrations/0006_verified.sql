-- Whether a member's address was vouched for: by the invitation made for it,
-- or by the identity provider. An address typed with an open code is not, and
-- a sign-in never binds to it.

alter table members add column email_verified boolean not null default false;
update members m set email_verified = true
 where exists (select 1 from invitations i where i.org_id = m.org_id and lower(i.email) = lower(m.email))
    or m.oidc_subject is not null;
