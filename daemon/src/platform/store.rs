//! The daemon's SQLite database: one file in the user data directory, versioned
//! migrations, WAL journaling.
//!
//! Durability: WAL with `synchronous = NORMAL` keeps every committed transaction
//! across a crash or `kill -9` of the daemon (only an OS crash or power loss can
//! drop the last commits), and the database is never left unreadable. Calls run on
//! tokio's blocking pool so a slow disk never stalls a request handler.

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};

/// Conversations with the team (`chat/*`): each turn is a message and the run answering it.
const CONVERSATIONS: &str = "CREATE TABLE conversations (
                 id TEXT PRIMARY KEY,
                 title TEXT NOT NULL,
                 project TEXT,
                 created_ms INTEGER NOT NULL,
                 updated_ms INTEGER NOT NULL
             );
             CREATE INDEX conversations_updated ON conversations(updated_ms);
             CREATE TABLE conversation_turns (
                 conversation TEXT NOT NULL REFERENCES conversations(id),
                 turn INTEGER NOT NULL,
                 text TEXT NOT NULL,
                 agent TEXT NOT NULL,
                 skill TEXT,
                 run_id TEXT NOT NULL,
                 created_ms INTEGER NOT NULL,
                 PRIMARY KEY (conversation, turn)
             );";

/// Usage: one event per finished run, what the single-user console charts and
/// what goes to a team hub (`pushed_ms`) once this machine has joined one.
const USAGE: &str = "CREATE TABLE usage_events (
                 -- the event's id, as the hub knows it
                 id TEXT PRIMARY KEY,
                 -- the run it counts: one event per run, however often its end is recorded
                 source TEXT NOT NULL UNIQUE,
                 at_ms INTEGER NOT NULL,
                 kind TEXT NOT NULL,
                 agent TEXT NOT NULL,
                 skill TEXT,
                 provider TEXT,
                 model TEXT,
                 tokens_in INTEGER NOT NULL,
                 tokens_out INTEGER NOT NULL,
                 latency_ms INTEGER NOT NULL,
                 outcome TEXT NOT NULL,
                 findings INTEGER NOT NULL,
                 edits INTEGER NOT NULL,
                 -- when a hub recorded it; null: not sent; -1: the hub refused it (kept here only)
                 pushed_ms INTEGER
             );
             CREATE INDEX usage_events_unpushed ON usage_events(at_ms) WHERE pushed_ms IS NULL;";

/// What the console reads: usage rolled up per day and agent/provider/model
/// (kept by a trigger, so every writer of `usage_events` feeds it), latency as
/// a histogram per day (buckets a fourth of a power of two wide, so a
/// percentile is within ±10%), what the user accepted or rejected of a run's
/// findings and edits, and an audit log of what changed on this machine.
/// Dashboards then read thousands of rows, not millions.
const CONSOLE: &str = "CREATE TABLE latency_buckets (bucket INTEGER PRIMARY KEY, upper_ms REAL NOT NULL);
             INSERT INTO latency_buckets (bucket, upper_ms)
                 WITH RECURSIVE b(k, upper) AS (
                     SELECT 0, 1.0 UNION ALL SELECT k + 1, upper * 1.189207115002721 FROM b WHERE k < 127)
                 SELECT k, upper FROM b;
             CREATE INDEX latency_buckets_upper ON latency_buckets(upper_ms);
             CREATE TABLE usage_daily (
                 -- days since 1970-01-01, UTC
                 day INTEGER NOT NULL,
                 kind TEXT NOT NULL,
                 agent TEXT NOT NULL,
                 provider TEXT NOT NULL,
                 model TEXT NOT NULL,
                 runs INTEGER NOT NULL,
                 errors INTEGER NOT NULL,
                 tokens_in INTEGER NOT NULL,
                 tokens_out INTEGER NOT NULL,
                 findings INTEGER NOT NULL,
                 edits INTEGER NOT NULL,
                 PRIMARY KEY (day, kind, agent, provider, model)
             ) WITHOUT ROWID;
             CREATE TABLE usage_latency (
                 day INTEGER NOT NULL,
                 kind TEXT NOT NULL,
                 agent TEXT NOT NULL,
                 provider TEXT NOT NULL,
                 model TEXT NOT NULL,
                 bucket INTEGER NOT NULL,
                 count INTEGER NOT NULL,
                 PRIMARY KEY (day, kind, agent, provider, model, bucket)
             ) WITHOUT ROWID;
             CREATE TRIGGER usage_events_rollup AFTER INSERT ON usage_events BEGIN
                 INSERT INTO usage_daily VALUES (NEW.at_ms / 86400000, NEW.kind, NEW.agent, coalesce(NEW.provider, ''),
                     coalesce(NEW.model, ''), 1, NEW.outcome = 'failed', NEW.tokens_in, NEW.tokens_out, NEW.findings, NEW.edits)
                 ON CONFLICT DO UPDATE SET runs = runs + 1, errors = errors + excluded.errors,
                     tokens_in = tokens_in + excluded.tokens_in, tokens_out = tokens_out + excluded.tokens_out,
                     findings = findings + excluded.findings, edits = edits + excluded.edits;
                 INSERT INTO usage_latency VALUES (NEW.at_ms / 86400000, NEW.kind, NEW.agent, coalesce(NEW.provider, ''),
                     coalesce(NEW.model, ''),
                     coalesce((SELECT min(bucket) FROM latency_buckets WHERE upper_ms > NEW.latency_ms), 128), 1)
                 ON CONFLICT DO UPDATE SET count = count + 1;
             END;
             INSERT INTO usage_daily
                 SELECT at_ms / 86400000, kind, agent, coalesce(provider, ''), coalesce(model, ''), count(*),
                     sum(outcome = 'failed'), sum(tokens_in), sum(tokens_out), sum(findings), sum(edits)
                 FROM usage_events GROUP BY 1, 2, 3, 4, 5;
             INSERT INTO usage_latency
                 SELECT day, kind, agent, provider, model, bucket, count(*) FROM (
                     SELECT at_ms / 86400000 AS day, kind, agent, coalesce(provider, '') AS provider,
                         coalesce(model, '') AS model,
                         coalesce((SELECT min(bucket) FROM latency_buckets WHERE upper_ms > latency_ms), 128) AS bucket
                     FROM usage_events)
                 GROUP BY 1, 2, 3, 4, 5, 6;
             -- A run's (or a workflow session's) findings and edits the user accepted or rejected.
             CREATE TABLE feedback (
                 source TEXT NOT NULL,
                 -- `finding:N` or `edit:N`, N indexing the run's findings or edits
                 item TEXT NOT NULL,
                 verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
                 at_ms INTEGER NOT NULL,
                 PRIMARY KEY (source, item)
             );
             CREATE TABLE audit_events (
                 id INTEGER PRIMARY KEY,
                 at_ms INTEGER NOT NULL,
                 -- who: `you (console)`, `you (paired CLI)`, the daemon itself
                 actor TEXT NOT NULL,
                 action TEXT NOT NULL,
                 target TEXT NOT NULL,
                 details TEXT NOT NULL DEFAULT ''
             );
             CREATE INDEX audit_events_at ON audit_events(at_ms);";

/// Latency histograms per calendar month too (`month`: the day number of its
/// first day), so a long period reads a month's buckets once instead of each
/// of its days': the trigger keeps both.
/// What the team hub has not heard yet of the user's verdicts: an event's
/// accepted count (never more than the findings and edits it had), set when a
/// verdict on its run is recorded and cleared once the hub has it.
const ACCEPTED_DUE: &str = "ALTER TABLE usage_events ADD COLUMN accepted_due INTEGER;
             CREATE INDEX usage_events_accepted_due ON usage_events(id) WHERE accepted_due IS NOT NULL;
             CREATE TRIGGER feedback_accepted_due AFTER INSERT ON feedback BEGIN
                 UPDATE usage_events SET accepted_due =
                     min(findings + edits,
                         (SELECT count(*) FROM feedback WHERE source = NEW.source AND verdict = 'accepted'))
                  WHERE source = NEW.source;
             END;
             CREATE TRIGGER feedback_accepted_due_changed AFTER UPDATE ON feedback BEGIN
                 UPDATE usage_events SET accepted_due =
                     min(findings + edits,
                         (SELECT count(*) FROM feedback WHERE source = NEW.source AND verdict = 'accepted'))
                  WHERE source = NEW.source;
             END;";

/// The rejected count goes with the accepted one (the pair is due together):
/// the verdicts' triggers set both, never more than the findings and edits the
/// event had (rejected: those not accepted).
const REJECTED_DUE: &str = "ALTER TABLE usage_events ADD COLUMN rejected_due INTEGER;
             DROP TRIGGER feedback_accepted_due;
             DROP TRIGGER feedback_accepted_due_changed;
             CREATE TRIGGER feedback_verdicts_due AFTER INSERT ON feedback BEGIN
                 UPDATE usage_events SET
                     accepted_due = min(findings + edits,
                         (SELECT count(*) FROM feedback WHERE source = NEW.source AND verdict = 'accepted')),
                     rejected_due = max(0, min(findings + edits - min(findings + edits,
                         (SELECT count(*) FROM feedback WHERE source = NEW.source AND verdict = 'accepted')),
                         (SELECT count(*) FROM feedback WHERE source = NEW.source AND verdict = 'rejected')))
                  WHERE source = NEW.source;
             END;
             CREATE TRIGGER feedback_verdicts_due_changed AFTER UPDATE ON feedback BEGIN
                 UPDATE usage_events SET
                     accepted_due = min(findings + edits,
                         (SELECT count(*) FROM feedback WHERE source = NEW.source AND verdict = 'accepted')),
                     rejected_due = max(0, min(findings + edits - min(findings + edits,
                         (SELECT count(*) FROM feedback WHERE source = NEW.source AND verdict = 'accepted')),
                         (SELECT count(*) FROM feedback WHERE source = NEW.source AND verdict = 'rejected')))
                  WHERE source = NEW.source;
             END;";

const MONTHLY_LATENCY: &str = "CREATE TABLE usage_latency_monthly (
                 month INTEGER NOT NULL,
                 kind TEXT NOT NULL,
                 agent TEXT NOT NULL,
                 provider TEXT NOT NULL,
                 model TEXT NOT NULL,
                 bucket INTEGER NOT NULL,
                 count INTEGER NOT NULL,
                 PRIMARY KEY (month, kind, agent, provider, model, bucket)
             ) WITHOUT ROWID;
             CREATE TRIGGER usage_events_latency_monthly AFTER INSERT ON usage_events BEGIN
                 INSERT INTO usage_latency_monthly VALUES (
                     CAST(julianday(date(NEW.at_ms / 1000, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER),
                     NEW.kind, NEW.agent, coalesce(NEW.provider, ''), coalesce(NEW.model, ''),
                     coalesce((SELECT min(bucket) FROM latency_buckets WHERE upper_ms > NEW.latency_ms), 128), 1)
                 ON CONFLICT DO UPDATE SET count = count + 1;
             END;
             INSERT INTO usage_latency_monthly
                 SELECT CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER),
                     kind, agent, provider, model, bucket, sum(count)
                 FROM usage_latency GROUP BY 1, 2, 3, 4, 5, 6;";

/// Migrations, oldest first. Never edit a released one: append a new one.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            "CREATE TABLE daemon_runs (
             id INTEGER PRIMARY KEY,
             pid INTEGER NOT NULL,
             version TEXT NOT NULL,
             port INTEGER NOT NULL,
             started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
             stopped_at TEXT,
             -- 'clean', or why it ended ('killed' when found unfinished at the next start)
             ended TEXT
         );
         CREATE TABLE client_sessions (
             id INTEGER PRIMARY KEY,
             run_id INTEGER NOT NULL REFERENCES daemon_runs(id),
             kind TEXT NOT NULL,
             name TEXT NOT NULL,
             pid INTEGER,
             attached_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
             detached_at TEXT
         );
         CREATE INDEX client_sessions_run ON client_sessions(run_id);",
        ),
        M::up(
            "CREATE TABLE agent_runs (
                 id TEXT PRIMARY KEY,
                 agent TEXT NOT NULL,
                 skill TEXT NOT NULL,
                 -- queued, running, succeeded, failed, cancelled
                 status TEXT NOT NULL,
                 uri TEXT,
                 created_ms INTEGER NOT NULL,
                 finished_ms INTEGER,
                 params TEXT NOT NULL,
                 output TEXT,
                 findings TEXT,
                 edits TEXT,
                 error TEXT
             );
             CREATE INDEX agent_runs_created ON agent_runs(created_ms);",
        ),
        M::up(
            "ALTER TABLE agent_runs ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0;
             -- A run started by a workflow step: its session.
             ALTER TABLE agent_runs ADD COLUMN session TEXT;
             CREATE TABLE sessions (
                 id TEXT PRIMARY KEY,
                 workflow TEXT NOT NULL,
                 -- running, waiting, succeeded, failed, cancelled, interrupted
                 status TEXT NOT NULL,
                 created_ms INTEGER NOT NULL,
                 finished_ms INTEGER,
                 params TEXT NOT NULL,
                 output TEXT NOT NULL DEFAULT '',
                 edits TEXT NOT NULL DEFAULT '[]',
                 tokens INTEGER NOT NULL DEFAULT 0,
                 error TEXT
             );
             CREATE INDEX sessions_created ON sessions(created_ms);
             -- Finished step attempts, board entries and conflicts, in order.
             CREATE TABLE session_steps (
                 session TEXT NOT NULL REFERENCES sessions(id),
                 seq INTEGER NOT NULL,
                 record TEXT NOT NULL,
                 PRIMARY KEY (session, seq)
             );
             CREATE TABLE session_board (
                 session TEXT NOT NULL REFERENCES sessions(id),
                 seq INTEGER NOT NULL,
                 entry TEXT NOT NULL,
                 PRIMARY KEY (session, seq)
             );
             CREATE TABLE session_conflicts (
                 session TEXT NOT NULL REFERENCES sessions(id),
                 id TEXT NOT NULL,
                 record TEXT NOT NULL,
                 PRIMARY KEY (session, id)
             );",
        ),
        M::up(CONVERSATIONS),
        M::up(USAGE),
        M::up(CONSOLE),
        M::up(MONTHLY_LATENCY),
        M::up(ACCEPTED_DUE),
        M::up(REJECTED_DUE),
    ])
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// The one thread the store's calls run on, in order (#18.7): they take
    /// the one connection anyway, and on the blocking pool fifty editors
    /// attaching at once started a thread each, from inside a runtime
    /// worker's poll, under the pool's lock.
    thread: Arc<crate::platform::serial::Serial>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let mut conn = Connection::open(path).with_context(|| format!("cannot open database {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations().to_latest(&mut conn).with_context(|| {
            format!(
                "cannot migrate database {}: it may come from a newer PAIRED; upgrade, or move the file away",
                path.display()
            )
        })?;
        let thread =
            crate::platform::serial::Serial::start("paired-store").context("cannot start the store's thread")?;
        Ok(Store { conn: Arc::new(Mutex::new(conn)), thread: Arc::new(thread) })
    }

    /// Runs `f` with the connection on the store's thread.
    pub async fn call<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let conn = self.conn.clone();
        self.thread
            .run(move || {
                let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                f(&mut conn)
            })
            .await
            .map_err(|_| anyhow::anyhow!("database task failed"))?
            .context("database error")
    }

    /// Records this daemon's start, and closes the books on runs that never
    /// stopped (a crash or `kill -9`): nothing is left looking alive.
    pub async fn begin_run(&self, pid: u32, version: &str, port: u16) -> Result<i64> {
        let version = version.to_owned();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE client_sessions SET detached_at = (SELECT started_at FROM daemon_runs WHERE id = run_id)
                 WHERE detached_at IS NULL",
                [],
            )?;
            tx.execute("UPDATE daemon_runs SET ended = 'killed' WHERE stopped_at IS NULL AND ended IS NULL", [])?;
            // Agent runs the previous daemon did not finish: failed, with why.
            tx.execute(
                "UPDATE agent_runs SET status = 'failed', error = 'the daemon stopped before this run finished; run it again',
                     finished_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000
                 WHERE status IN ('queued', 'running')",
                [],
            )?;
            // Workflow sessions it did not finish: interrupted, resumable.
            tx.execute(
                "UPDATE sessions SET status = 'interrupted',
                     error = 'the daemon stopped while this workflow ran; `sessions/resume` continues it (finished steps are kept)'
                 WHERE status IN ('running', 'waiting')",
                [],
            )?;
            tx.execute(
                "INSERT INTO daemon_runs (pid, version, port) VALUES (?1, ?2, ?3)",
                params![pid, version, port],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    pub async fn end_run(&self, run_id: i64) -> Result<()> {
        self.call(move |conn| {
            conn.execute(
                "UPDATE client_sessions SET detached_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE run_id = ?1 AND detached_at IS NULL",
                [run_id],
            )?;
            conn.execute(
                "UPDATE daemon_runs SET stopped_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ended = 'clean' WHERE id = ?1",
                [run_id],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn client_attached(&self, run_id: i64, kind: &str, name: &str, pid: Option<u32>) -> Result<i64> {
        let (kind, name) = (kind.to_owned(), name.to_owned());
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO client_sessions (run_id, kind, name, pid) VALUES (?1, ?2, ?3, ?4)",
                params![run_id, kind, name, pid],
            )?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    pub async fn client_detached(&self, session_id: i64) -> Result<()> {
        self.call(move |conn| {
            conn.execute(
                "UPDATE client_sessions SET detached_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
                [session_id],
            )?;
            Ok(())
        })
        .await
    }

    /// How the previous run ended, for `doctor`.
    pub async fn previous_run_end(&self, run_id: i64) -> Result<Option<String>> {
        self.call(move |conn| {
            conn.query_row(
                "SELECT coalesce(ended, 'running') FROM daemon_runs WHERE id < ?1 ORDER BY id DESC LIMIT 1",
                [run_id],
                |row| row.get(0),
            )
            .optional()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().expect("migrations validate");
    }

    #[tokio::test]
    async fn unfinished_runs_are_closed_at_next_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("paired.db");
        let store = Store::open(&path).expect("open");
        let first = store.begin_run(1, "x", 1).await.expect("run");
        store.client_attached(first, "lsp", "editor", Some(7)).await.expect("attach");
        drop(store);

        let store = Store::open(&path).expect("reopen");
        let second = store.begin_run(2, "x", 1).await.expect("run");
        assert_eq!(store.previous_run_end(second).await.expect("query").as_deref(), Some("killed"));
        let open_sessions: i64 = store
            .call(|c| c.query_row("SELECT count(*) FROM client_sessions WHERE detached_at IS NULL", [], |r| r.get(0)))
            .await
            .expect("count");
        assert_eq!(open_sessions, 0);
        store.end_run(second).await.expect("end");
        let third = store.begin_run(3, "x", 1).await.expect("run");
        assert_eq!(store.previous_run_end(third).await.expect("query").as_deref(), Some("clean"));
    }
}
