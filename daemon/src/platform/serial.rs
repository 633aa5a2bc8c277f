//! One thread that runs jobs handed over to it: the editors' document updates
//! (#18.7), the decoding of large params, the roster's reads. They all take
//! one lock or one resource, so more threads would only queue on it; on the
//! blocking pool each job could start a thread (a `clone` and an `mmap` for
//! its stack, under the memory map's lock every other thread's page faults
//! take) from inside a request's poll. Handing a job over is a queue push and
//! a wake-up.
//!
//! Jobs run in the order handed over, except that a job handed over with a
//! size ([`Serial::run_sized`]) goes ahead of larger ones queued before it:
//! an editor's keystroke waits for the update being applied, not for fifty
//! other editors' bursts queued before it (#18.7, measured). A job passed
//! over [`PASSED_OVER`] times goes next whatever its size, so a large one is
//! not starved by a stream of small ones. Callers that need two jobs in order
//! hand the second over when the first is done (the documents' turns do).

use std::{
    collections::VecDeque,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, Condvar, Mutex, MutexGuard},
};

type Job = Box<dyn FnOnce() + Send>;

/// How many times a job may be passed over by smaller ones before it goes next.
pub const PASSED_OVER: u32 = 8;

/// A thread running jobs; it ends when the `Serial` is dropped, after the jobs
/// already handed over.
pub struct Serial {
    queue: Arc<Queue>,
}

#[derive(Default)]
struct Queue {
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Queued>,
    closed: bool,
}

struct Queued {
    size: usize,
    passed_over: u32,
    job: Job,
}

/// The job panicked (the thread goes on with the next one).
#[derive(Debug)]
pub struct Panicked;

impl Serial {
    /// Starts the thread, named `name`.
    pub fn start(name: &str) -> std::io::Result<Serial> {
        let queue = Arc::new(Queue::default());
        let thread_queue = queue.clone();
        std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            // However the thread ends, what is still queued is dropped (its
            // callers are told) and nothing more is taken: no request waits
            // for a thread that is gone.
            let _closing = Closing(&thread_queue);
            while let Some(job) = thread_queue.next() {
                // A job catches its own panic; this is for one whose payload
                // panics again when dropped.
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
        })?;
        Ok(Serial { queue })
    }

    /// Hands `work` over now (it runs after the jobs handed over before it);
    /// the future waits for its result without holding the caller's runtime
    /// worker. Dropping the future does not take the job back.
    pub fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, Panicked>> + Send + 'static {
        self.run_sized(usize::MAX, work)
    }

    /// As [`Serial::run`], for a job whose work is about `size` (bytes of
    /// text, say): it goes ahead of larger jobs queued before it.
    pub fn run_sized<T: Send + 'static>(
        &self,
        size: usize,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, Panicked>> + Send + 'static {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(catch_unwind(AssertUnwindSafe(work)).map_err(|_| Panicked));
        });
        self.queue.push(Queued { size, passed_over: 0, job });
        async move { result.await.map_err(|_| Panicked)? }
    }
}

impl Drop for Serial {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.ready.notify_one();
    }
}

/// Closes the queue when the thread ends, dropping what it still holds.
struct Closing<'a>(&'a Queue);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        let jobs = {
            let mut state = self.0.lock();
            state.closed = true;
            std::mem::take(&mut state.jobs)
        };
        drop(jobs);
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a job; one handed over after the thread has ended is dropped
    /// (its caller is told).
    fn push(&self, queued: Queued) {
        let mut state = self.lock();
        if state.closed {
            drop(state);
            drop(queued);
            return;
        }
        state.jobs.push_back(queued);
        drop(state);
        self.ready.notify_one();
    }

    /// The next job to run; `None` once closed and empty.
    fn next(&self) -> Option<Job> {
        let mut state = self.lock();
        loop {
            if let Some(index) = pick(&state.jobs) {
                for passed in state.jobs.iter_mut().take(index) {
                    passed.passed_over += 1;
                }
                return state.jobs.remove(index).map(|queued| queued.job);
            }
            if state.closed {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Which queued job goes next: the smallest (the oldest of equals) of those
/// passed over too often, else of all. Jobs handed over later are never
/// passed over by the ones before them, so the starved drain first.
fn pick(jobs: &VecDeque<Queued>) -> Option<usize> {
    let smallest = |starved_only: bool| {
        jobs.iter()
            .enumerate()
            .filter(|(_, queued)| !starved_only || queued.passed_over >= PASSED_OVER)
            .min_by_key(|(index, queued)| (queued.size, *index))
            .map(|(index, _)| index)
    };
    smallest(true).or_else(|| smallest(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_in_order_and_a_panic_spares_the_next() {
        let serial = Serial::start("serial-test").expect("thread");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waits = Vec::new();
        for i in 0..50 {
            let log = log.clone();
            waits.push(serial.run(move || log.lock().expect("log").push(i)));
        }
        for wait in waits {
            wait.await.expect("ran");
        }
        assert_eq!(*log.lock().expect("log"), (0..50).collect::<Vec<_>>());
        assert!(serial.run(|| panic!("a job's bug")).await.is_err());
        assert_eq!(serial.run(|| 7).await.expect("the thread lives on"), 7);
        let thread = serial.run(|| std::thread::current().name().map(str::to_owned)).await.expect("ran");
        assert_eq!(thread.as_deref(), Some("serial-test"));
    }

    #[tokio::test]
    async fn a_small_job_goes_ahead_of_large_ones_and_a_large_one_is_not_starved() {
        let serial = Serial::start("serial-sizes").expect("thread");
        let log = Arc::new(Mutex::new(Vec::new()));
        // Hold the thread while the queue fills.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (begun, begins) = std::sync::mpsc::channel::<()>();
        let holding = serial.run(move || {
            let _ = begun.send(());
            let _ = held.recv();
        });
        begins.recv().expect("the thread took the first job");
        let queue = |name: &'static str, size| {
            let log = log.clone();
            serial.run_sized(size, move || log.lock().expect("log").push(name))
        };
        let mut waits = Vec::new();
        for (name, size) in [("large-1", 100_000), ("large-2", 100_000), ("small", 10), ("large-3", 50_000)] {
            waits.push(queue(name, size));
        }
        // Twelve tiny ones after: they go first, until the four before them
        // have been passed over eight times.
        for _ in 0..12 {
            waits.push(queue("tiny", 1));
        }
        release.send(()).expect("thread waits");
        holding.await.expect("ran");
        for wait in waits {
            wait.await.expect("ran");
        }
        let log = log.lock().expect("log").clone();
        let mut expected = vec!["tiny"; 8];
        // Passed over eight times, the four go next, smallest first.
        expected.extend(["small", "large-3", "large-1", "large-2"]);
        expected.extend(["tiny"; 4]);
        assert_eq!(log, expected);
    }

    #[tokio::test]
    async fn a_job_handed_over_after_the_thread_ended_is_refused_not_kept() {
        let queue = Queue::default();
        let (first, kept) = tokio::sync::oneshot::channel::<()>();
        queue.push(Queued {
            size: 0,
            passed_over: 0,
            job: Box::new(move || {
                let _ = first.send(());
            }),
        });
        // The thread ends (however): what it held is dropped, its caller told.
        drop(Closing(&queue));
        assert!(kept.await.is_err());
        let (late, refused) = tokio::sync::oneshot::channel::<()>();
        queue.push(Queued {
            size: 0,
            passed_over: 0,
            job: Box::new(move || {
                let _ = late.send(());
            }),
        });
        assert!(refused.await.is_err());
        assert!(queue.next().is_none());
    }

    #[tokio::test]
    async fn dropping_the_serial_runs_what_was_handed_over_then_ends_the_thread() {
        let serial = Serial::start("serial-drop").expect("thread");
        let wait = serial.run(|| std::thread::sleep(std::time::Duration::from_millis(20)));
        let last = serial.run(|| 5);
        drop(serial);
        wait.await.expect("ran");
        assert_eq!(last.await.expect("ran before the thread ended"), 5);
    }
}
