-- How many of an event's findings and edits its member rejected: set, like
-- `accepted`, when a daemon sends the verdicts given after the event (never
-- more than the event's findings and edits not accepted). Read by the usage
-- query API from the events themselves.

alter table usage_events add column rejected integer not null default 0 check (rejected >= 0);
