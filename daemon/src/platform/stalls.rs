//! Whether anything keeps the async runtime's workers from other clients'
//! work. Every request's future, every connection and the daemon's own tasks are
//! polled through [`Timed`], which times each poll: a poll is how long it holds
//! a worker, so work that belongs elsewhere (CPU-bound, blocking IO, a lock held
//! across a long step) shows as a long poll, under the name of what made it.
//! `daemon/status` reports the longest ones (`runtime`); one over [`WARN`] is
//! logged. Each is noted with the CPU time it used and whether its thread
//! blocked (gave up the CPU to wait: a contended lock, blocking IO, a sleep):
//! a long poll that used little CPU and did not block was preempted by the OS
//! on a busy machine. Cost: a clock read and a `getrusage` before each poll and
//! after a long one, about a microsecond.
//!
//! A request's future ([`Timed::request`]) is also timed whole, from its first
//! poll to its reply: how long the daemon kept the request, waits included
//! (a turn, the blocking pool, the CPU), per method as a histogram (`runtime.requests`).

use std::{
    collections::BTreeMap,
    future::Future,
    pin::Pin,
    sync::Mutex,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use protocol::daemon::{RequestTimes, RuntimeReport, SlowPoll};

use crate::platform::os;

/// Polls at least this long are counted, by name.
const NOTED: Duration = Duration::from_millis(1);
/// … and this long, logged: another editor's request may have waited as long.
const WARN: Duration = Duration::from_millis(50);

pin_project_lite::pin_project! {
    /// A future whose polls are timed (see the module's docs).
    pub struct Timed<F> {
        name: &'static str,
        whole: Whole,
        #[pin]
        inner: F,
    }
}

/// Whether a [`Timed`] future is timed whole, and since when.
#[derive(Clone, Copy)]
enum Whole {
    No,
    NotStarted,
    Since(Instant),
}

impl<F> Timed<F> {
    pub fn new(name: &'static str, inner: F) -> Timed<F> {
        Timed { name, whole: Whole::No, inner }
    }

    /// A request's future: its polls timed, and itself from its first poll to its end.
    pub fn request(name: &'static str, inner: F) -> Timed<F> {
        Timed { name, whole: Whole::NotStarted, inner }
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let (started, before) = (Instant::now(), os::thread_usage());
        if let Whole::NotStarted = this.whole {
            *this.whole = Whole::Since(started);
        }
        let polled = this.inner.poll(cx);
        let took = started.elapsed();
        if took >= NOTED {
            let after = os::thread_usage();
            let blocked = after.blocked > before.blocked;
            note(this.name, took, after.cpu.saturating_sub(before.cpu), blocked);
        }
        if let (Poll::Ready(_), Whole::Since(since)) = (&polled, *this.whole) {
            requests().entry(this.name).or_default().add(since.elapsed());
            *this.whole = Whole::No;
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
    /// The most CPU time one poll used.
    most_cpu: Duration,
    /// Polls during which the thread blocked (waited on a lock, IO, a sleep).
    blocked: u64,
    /// The longest of those.
    longest_blocked: Duration,
}

fn table() -> std::sync::MutexGuard<'static, BTreeMap<&'static str, Noted>> {
    static TABLE: Mutex<BTreeMap<&'static str, Noted>> = Mutex::new(BTreeMap::new());
    TABLE.lock().unwrap_or_else(|p| p.into_inner())
}

fn note(name: &'static str, took: Duration, cpu: Duration, blocked: bool) {
    {
        let mut table = table();
        let noted = table.entry(name).or_default();
        noted.over_1ms += 1;
        noted.over_10ms += u64::from(took >= Duration::from_millis(10));
        noted.longest = noted.longest.max(took);
        noted.most_cpu = noted.most_cpu.max(cpu);
        noted.blocked += u64::from(blocked);
        if blocked {
            noted.longest_blocked = noted.longest_blocked.max(took);
        }
    }
    if took >= WARN {
        let (ms, cpu_ms) = (took.as_millis() as u64, cpu.as_millis() as u64);
        tracing::warn!(task = name, ms, cpu_ms, blocked, "a poll held a runtime worker this long");
    }
}

/// How long a method's requests took: a histogram of 8 buckets per
/// doubling (each within 12.5 % of the value), 2 KiB a method.
struct Times {
    count: u64,
    longest: Duration,
    buckets: Box<[u64; BUCKETS]>,
}

const BUCKETS: usize = 8 + 29 * 8;

impl Default for Times {
    fn default() -> Times {
        Times { count: 0, longest: Duration::ZERO, buckets: Box::new([0; BUCKETS]) }
    }
}

impl Times {
    /// Microseconds 0–7 have a bucket each; above, 8 a doubling.
    fn bucket(us: u64) -> usize {
        let us = us.min(u64::from(u32::MAX));
        if us < 8 {
            return us as usize;
        }
        let octave = 63 - us.leading_zeros() as usize;
        8 + (octave - 3) * 8 + ((us >> (octave - 3)) - 8) as usize
    }

    /// The largest value of a bucket.
    fn upper(bucket: usize) -> u64 {
        if bucket < 8 {
            return bucket as u64;
        }
        let (octave, sub) = ((bucket - 8) / 8 + 3, (bucket - 8) % 8);
        ((8 + sub as u64 + 1) << (octave - 3)) - 1
    }

    fn add(&mut self, took: Duration) {
        self.count += 1;
        self.longest = self.longest.max(took);
        self.buckets[Times::bucket(took.as_micros() as u64)] += 1;
    }

    /// The value `fraction` of the requests took at most (the bucket's top, at most the longest).
    fn quantile(&self, fraction: f64) -> u64 {
        let wanted = ((self.count as f64 * fraction).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                return Times::upper(bucket).min(self.longest.as_micros() as u64);
            }
        }
        self.longest.as_micros() as u64
    }
}

fn requests() -> std::sync::MutexGuard<'static, BTreeMap<&'static str, Times>> {
    static REQUESTS: Mutex<BTreeMap<&'static str, Times>> = Mutex::new(BTreeMap::new());
    REQUESTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The longest polls since the daemon started, longest first (at most `limit`
/// names), and the requests' times by method, slowest p99 first (as many).
pub fn report(limit: usize) -> RuntimeReport {
    let mut requests: Vec<RequestTimes> = requests()
        .iter()
        .map(|(name, times)| RequestTimes {
            name: (*name).to_owned(),
            count: times.count,
            p50_us: times.quantile(0.5),
            p99_us: times.quantile(0.99),
            longest_us: times.longest.as_micros() as u64,
        })
        .collect();
    requests.sort_by(|a, b| b.p99_us.cmp(&a.p99_us).then_with(|| a.name.cmp(&b.name)));
    requests.truncate(limit);
    let table = table();
    let mut slow: Vec<SlowPoll> = table
        .iter()
        .map(|(name, noted)| SlowPoll {
            name: (*name).to_owned(),
            longest_us: noted.longest.as_micros() as u64,
            most_cpu_us: noted.most_cpu.as_micros() as u64,
            blocked: noted.blocked,
            longest_blocked_us: noted.longest_blocked.as_micros() as u64,
            over_1ms: noted.over_1ms,
            over_10ms: noted.over_10ms,
        })
        .collect();
    slow.sort_by(|a, b| b.longest_us.cmp(&a.longest_us).then_with(|| a.name.cmp(&b.name)));
    let longest_us = slow.first().map_or(0, |s| s.longest_us);
    slow.truncate(limit);
    RuntimeReport { longest_poll_us: longest_us, slow_polls: slow, requests }
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
        Timed::new("test/working", async {
            // Work until 15 ms of CPU are used, however busy the machine is.
            let (started, mut n) = (os::thread_usage().cpu, 0u64);
            while os::thread_usage().cpu - started < Duration::from_millis(15) {
                n = std::hint::black_box(n + 1);
            }
        })
        .await;
        let report = report(usize::MAX);
        let blocking = report.slow_polls.iter().find(|s| s.name == "test/blocking").expect("noted");
        assert!(blocking.longest_us >= 15_000 && blocking.over_10ms == 1 && blocking.over_1ms == 1, "{blocking:?}");
        assert!(blocking.most_cpu_us < 5_000 && blocking.blocked == 1, "asleep, not working: {blocking:?}");
        let working = report.slow_polls.iter().find(|s| s.name == "test/working").expect("noted");
        assert!(working.most_cpu_us >= 15_000, "working: {working:?}");
        assert_eq!(working.blocked, 0, "working, never waiting: {working:?}");
        assert!(report.longest_poll_us >= 15_000);
        assert!(!report.slow_polls.iter().any(|s| s.name == "test/quick"), "a quick poll is not noted");
    }

    #[tokio::test]
    async fn a_request_is_timed_whole_waits_included() {
        for _ in 0..9 {
            Timed::request("test/request", async {}).await;
        }
        // Waiting (not holding a worker) counts: the daemon kept the request that long.
        Timed::request("test/request", tokio::time::sleep(Duration::from_millis(30))).await;
        let report = report(usize::MAX);
        let times = report.requests.iter().find(|r| r.name == "test/request").expect("timed");
        assert_eq!(times.count, 10, "{times:?}");
        assert!(times.p50_us < 5_000, "{times:?}");
        assert!(times.p99_us >= 30_000 && times.longest_us >= 30_000, "{times:?}");
        assert!(!report.slow_polls.iter().any(|s| s.name == "test/request"), "no poll was long: {report:?}");
    }

    #[test]
    fn the_histogram_keeps_values_within_an_eighth() {
        for us in [0u64, 7, 8, 9, 15, 16, 100, 1_000, 49_999, 50_000, 1_000_000, u64::from(u32::MAX)] {
            let bucket = Times::bucket(us);
            assert!(bucket < BUCKETS, "{us}");
            let upper = Times::upper(bucket);
            assert!(upper >= us && upper as f64 <= us as f64 * 1.125 + 1.0, "{us} → {upper}");
            assert!(bucket == 0 || Times::upper(bucket - 1) < us, "{us}: the bucket below ends under it");
        }
        let mut times = Times::default();
        for ms in 1..=100 {
            times.add(Duration::from_millis(ms));
        }
        assert!((50_000..=56_250).contains(&times.quantile(0.5)), "{}", times.quantile(0.5));
        assert!((99_000..=100_000).contains(&times.quantile(0.99)), "{}", times.quantile(0.99));
    }
}
