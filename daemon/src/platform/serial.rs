//! One thread that runs jobs in the order they are handed over: the editors'
//! document updates (#18.7). They all take the one documents lock, so more
//! threads would only queue on it; on the blocking pool each update could
//! start a thread (a `clone` and an `mmap` for its stack, under the memory
//! map's lock every other thread's page faults take) from inside a request's
//! poll, and fifty editors' updates woke fifty threads to hand one lock
//! around. Handing a job over is a queue push and a wake-up.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::mpsc,
};

type Job = Box<dyn FnOnce() + Send>;

/// A thread running jobs in order; it ends when the `Serial` is dropped.
pub struct Serial {
    jobs: mpsc::Sender<Job>,
}

/// The job panicked (the thread goes on with the next one).
#[derive(Debug)]
pub struct Panicked;

impl Serial {
    /// Starts the thread, named `name`.
    pub fn start(name: &str) -> std::io::Result<Serial> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            for job in queue {
                job();
            }
        })?;
        Ok(Serial { jobs })
    }

    /// Hands `work` over now (it runs after the jobs handed over before it);
    /// the future waits for its result without holding the caller's runtime
    /// worker. Dropping the future does not take the job back.
    pub fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, Panicked>> + Send + 'static {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(catch_unwind(AssertUnwindSafe(work)).map_err(|_| Panicked));
        });
        let sent = self.jobs.send(job).map_err(|_| Panicked);
        async move {
            sent?;
            result.await.map_err(|_| Panicked)?
        }
    }
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
}
