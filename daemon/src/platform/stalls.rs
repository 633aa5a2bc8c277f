//! Whether anything keeps the async runtime's workers from other clients'
//! work. Every request's future, every connection and the daemon's own tasks are
//! polled through [`Timed`], which times each poll: a poll is how long it holds
//! a worker, so work that belongs elsewhere (CPU-bound, blocking IO, a lock held
//! across a long step) shows as a long poll, under the name of what made it.
//! `daemon/status` reports the longest ones (`runtime`); one over [`WARN`] is
//! logged. Two `Instant::now()` a poll: tens of nanoseconds.

use std::{
    collections::BTreeMap,
    future::Future,
    pin::Pin,
    sync::Mutex,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use protocol::daemon::{RuntimeReport, SlowPoll};

/// Polls at least this long are counted, by name.
const NOTED: Duration = Duration::from_millis(1);
/// … and this long, logged: another editor's request may have waited as long.
const WARN: Duration = Duration::from_millis(50);

pin_project_lite::pin_project! {
    /// A future whose polls are timed (see the module's docs).
    pub struct Timed<F> {
        name: &'static str,
        #[pin]
        inner: F,
    }
}

impl<F> Timed<F> {
    pub fn new(name: &'static str, inner: F) -> Timed<F> {
        Timed { name, inner }
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let started = Instant::now();
        let polled = this.inner.poll(cx);
        let took = started.elapsed();
        if took >= NOTED {
            note(this.name, took);
        }
        polled
    }
}

/// `tokio::spawn` with the task's polls timed under `name`.
pub fn spawn<F>(name: &'static str, task: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(Timed::new(name, task))
}

#[derive(Default, Clone, Copy)]
struct Noted {
    over_1ms: u64,
    over_10ms: u64,
    longest: Duration,
}

fn table() -> std::sync::MutexGuard<'static, BTreeMap<&'static str, Noted>> {
    static TABLE: Mutex<BTreeMap<&'static str, Noted>> = Mutex::new(BTreeMap::new());
    TABLE.lock().unwrap_or_else(|p| p.into_inner())
}

fn note(name: &'static str, took: Duration) {
    {
        let mut table = table();
        let noted = table.entry(name).or_default();
        noted.over_1ms += 1;
        noted.over_10ms += u64::from(took >= Duration::from_millis(10));
        noted.longest = noted.longest.max(took);
    }
    if took >= WARN {
        tracing::warn!(task = name, ms = took.as_millis() as u64, "a poll held a runtime worker this long");
    }
}

/// The longest polls since the daemon started, longest first (at most `limit` names).
pub fn report(limit: usize) -> RuntimeReport {
    let table = table();
    let mut slow: Vec<SlowPoll> = table
        .iter()
        .map(|(name, noted)| SlowPoll {
            name: (*name).to_owned(),
            longest_us: noted.longest.as_micros() as u64,
            over_1ms: noted.over_1ms,
            over_10ms: noted.over_10ms,
        })
        .collect();
    slow.sort_by(|a, b| b.longest_us.cmp(&a.longest_us).then_with(|| a.name.cmp(&b.name)));
    let longest_us = slow.first().map_or(0, |s| s.longest_us);
    slow.truncate(limit);
    RuntimeReport { longest_poll_us: longest_us, slow_polls: slow }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_poll_that_blocks_its_worker_is_noted_under_its_name() {
        Timed::new("test/quick", async {}).await;
        Timed::new("test/blocking", async {
            tokio::task::yield_now().await;
            // Blocking the worker, as a handler must not.
            std::thread::sleep(Duration::from_millis(15));
        })
        .await;
        let report = report(usize::MAX);
        let blocking = report.slow_polls.iter().find(|s| s.name == "test/blocking").expect("noted");
        assert!(blocking.longest_us >= 15_000 && blocking.over_10ms == 1 && blocking.over_1ms == 1, "{blocking:?}");
        assert!(report.longest_poll_us >= 15_000);
        assert!(!report.slow_polls.iter().any(|s| s.name == "test/quick"), "a quick poll is not noted");
    }
}
