//! Resource allocation for runs: a global limit on runs in flight, a limit per
//! lane (each model provider, and the offline skills), fair queueing across
//! owners (editor clients, workflow sessions), and backpressure.
//!
//! Rules:
//! - Interactive runs (an editor or CLI asking) are served before background
//!   ones (workflow steps), and a share of the slots is kept for them — of the
//!   global limit and of each lane that has room for two: a full background
//!   queue never makes the editor wait behind it.
//! - Background waiters are served round-robin by owner, so one workflow with a
//!   thousand steps does not starve another with three.
//! - The queue is bounded; beyond it a run is refused with a clear error
//!   (`admit`), never queued without limit.
//! - A permit is a value: dropped, it frees its slot and wakes the next waiter —
//!   also when the waiter gave up before it was handed over.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use tokio::sync::oneshot;

/// The runtime background work (workflow sessions and their runs) executes on:
/// its own workers (one core fewer than the machine has) and blocking pool, at a
/// lower CPU priority (nice 10), so on a
/// busy machine the editor's requests, served by the main runtime, get the CPU
/// first — the scheduler orders who runs, this keeps a running background step
/// from slowing an interactive one down.
pub fn background() -> &'static tokio::runtime::Handle {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                // One core is left to the main runtime's async work (the
                // editor's requests); parsing and skills run on the blocking
                // pool, which uses every core.
                .worker_threads(std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)))
                .thread_name("paired-background")
                .on_thread_start(crate::platform::os::lower_priority)
                .enable_all()
                .build()
                .expect("the background runtime starts")
        })
        .handle()
}

/// Where a run's work goes, each with its own limit: a model provider, or
/// the offline skills (a provider that happens to be named `offline` is a
/// provider's lane, not theirs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Lane {
    Offline,
    Provider(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Interactive,
    Background,
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// Runs in flight at once.
    pub max_running: usize,
    /// Slots only interactive runs may take.
    pub interactive_reserved: usize,
    /// Runs in flight per lane unless `lanes` says otherwise.
    pub per_lane: usize,
    pub lanes: HashMap<Lane, usize>,
    /// Waiting runs beyond which new ones are refused.
    pub max_queued: usize,
}

impl Limits {
    fn lane_limit(&self, lane: &Lane) -> usize {
        self.lanes.get(lane).copied().unwrap_or(self.per_lane).max(1)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the daemon is busy: {queued} runs are waiting (limit {limit}); try again shortly")]
pub struct Busy {
    pub queued: usize,
    pub limit: usize,
}

struct Waiter {
    lane: Lane,
    grant: oneshot::Sender<Permit>,
}

/// Waiters of one class, queued per owner and served in turn.
#[derive(Default)]
struct Queue {
    by_owner: HashMap<String, VecDeque<Waiter>>,
    /// Owners with waiters, in serving order.
    turn: VecDeque<String>,
    len: usize,
}

impl Queue {
    fn push(&mut self, owner: &str, waiter: Waiter) {
        let queue = self.by_owner.entry(owner.to_owned()).or_default();
        if queue.is_empty() {
            self.turn.push_back(owner.to_owned());
        }
        queue.push_back(waiter);
        self.len += 1;
    }

    /// The next owner's first waiter whose lane has room (a full lane does not
    /// hold up the owner's runs on other lanes, nor other owners).
    fn pop(&mut self, fits: impl Fn(&Lane) -> bool) -> Option<Waiter> {
        for _ in 0..self.turn.len() {
            let owner = self.turn.pop_front()?;
            let Some(queue) = self.by_owner.get_mut(&owner) else { continue };
            let Some(i) = queue.iter().position(|w| fits(&w.lane)) else {
                self.turn.push_back(owner);
                continue;
            };
            let waiter = queue.remove(i)?;
            if queue.is_empty() {
                self.by_owner.remove(&owner);
            } else {
                self.turn.push_back(owner);
            }
            self.len -= 1;
            return Some(waiter);
        }
        None
    }
}

#[derive(Default)]
struct State {
    running: usize,
    running_background: usize,
    by_lane: HashMap<Lane, usize>,
    interactive: Queue,
    background: Queue,
}

impl State {
    fn queued(&self) -> usize {
        self.interactive.len + self.background.len
    }
}

pub struct Scheduler {
    limits: Limits,
    state: Mutex<State>,
}

/// A slot to run in; freed on drop.
pub struct Permit {
    scheduler: Arc<Scheduler>,
    lane: Lane,
    class: Class,
    armed: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.armed {
            self.scheduler.release(&self.lane, self.class);
        }
    }
}

/// Whether a run of `class` on `lane` may start with these counts.
fn fits(
    limits: &Limits,
    running: usize,
    running_background: usize,
    by_lane: &HashMap<Lane, usize>,
    lane: &Lane,
    class: Class,
) -> bool {
    let total = match class {
        Class::Interactive => running < limits.max_running,
        Class::Background => {
            running < limits.max_running
                && running_background < limits.max_running.saturating_sub(limits.interactive_reserved).max(1)
        }
    };
    let limit = limits.lane_limit(lane);
    // A lane with room for two keeps one for interactive runs too: the
    // editor's request to a provider never waits behind a workflow's.
    let limit = if class == Class::Background && limit >= 2 { limit - 1 } else { limit };
    total && by_lane.get(lane).copied().unwrap_or(0) < limit
}

impl Scheduler {
    pub fn new(limits: Limits) -> Arc<Scheduler> {
        Arc::new(Scheduler { limits, state: Mutex::new(State::default()) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fits(&self, state: &State, lane: &Lane, class: Class) -> bool {
        fits(&self.limits, state.running, state.running_background, &state.by_lane, lane, class)
    }

    fn take(self: &Arc<Self>, state: &mut State, lane: &Lane, class: Class) -> Permit {
        state.running += 1;
        if class == Class::Background {
            state.running_background += 1;
        }
        *state.by_lane.entry(lane.clone()).or_default() += 1;
        Permit { scheduler: self.clone(), lane: lane.clone(), class, armed: true }
    }

    /// A slot now, if one is free and nobody of the same or a higher class waits.
    pub fn try_acquire(self: &Arc<Self>, class: Class, lane: &Lane) -> Option<Permit> {
        let mut state = self.lock();
        let ahead = match class {
            Class::Interactive => state.interactive.len > 0,
            Class::Background => state.queued() > 0,
        };
        (!ahead && self.fits(&state, lane, class)).then(|| self.take(&mut state, lane, class))
    }

    /// Refuses a new run when the queue is full.
    pub fn admit(&self, class: Class) -> Result<(), Busy> {
        let state = self.lock();
        // Interactive requests may always queue behind background work: it is
        // served first, so the wait is bounded by the interactive queue alone.
        let limit = self.limits.max_queued;
        let over = match class {
            Class::Interactive => state.interactive.len >= limit,
            Class::Background => state.queued() >= limit,
        };
        if over { Err(Busy { queued: state.queued(), limit }) } else { Ok(()) }
    }

    /// Waits for a slot. Dropping the future gives up the place in the queue.
    pub async fn acquire(self: &Arc<Self>, class: Class, owner: &str, lane: &Lane) -> Permit {
        if let Some(permit) = self.try_acquire(class, lane) {
            return permit;
        }
        let (grant, granted) = oneshot::channel();
        {
            let mut state = self.lock();
            let waiter = Waiter { lane: lane.clone(), grant };
            match class {
                Class::Interactive => state.interactive.push(owner, waiter),
                Class::Background => state.background.push(owner, waiter),
            }
            // A slot may have freed between the try and the push.
            self.dispatch(&mut state);
        }
        match granted.await {
            Ok(permit) => permit,
            // Unreachable while the scheduler lives (waiters are only dropped
            // after a grant attempt); wait again rather than run without a slot.
            Err(_) => Box::pin(self.acquire(class, owner, lane)).await,
        }
    }

    fn release(self: &Arc<Self>, lane: &Lane, class: Class) {
        let mut state = self.lock();
        state.running = state.running.saturating_sub(1);
        if class == Class::Background {
            state.running_background = state.running_background.saturating_sub(1);
        }
        if let Some(n) = state.by_lane.get_mut(lane) {
            *n = n.saturating_sub(1);
        }
        self.dispatch(&mut state);
    }

    /// Hands free slots to waiters: interactive first (the first whose lane has
    /// room), then background owners in turn.
    fn dispatch(self: &Arc<Self>, state: &mut State) {
        loop {
            let State { running, running_background, by_lane, interactive, background } = &mut *state;
            let limits = &self.limits;
            let next = interactive
                .pop(|lane| fits(limits, *running, *running_background, by_lane, lane, Class::Interactive))
                .map(|w| (w, Class::Interactive))
                .or_else(|| {
                    background
                        .pop(|lane| fits(limits, *running, *running_background, by_lane, lane, Class::Background))
                        .map(|w| (w, Class::Background))
                });
            let Some((waiter, class)) = next else { break };
            self.hand_over(state, waiter, class);
        }
    }

    fn hand_over(self: &Arc<Self>, state: &mut State, waiter: Waiter, class: Class) {
        let permit = self.take(state, &waiter.lane, class);
        if let Err(mut permit) = waiter.grant.send(permit) {
            // The waiter gave up: undo without re-entering the lock.
            permit.armed = false;
            state.running -= 1;
            if class == Class::Background {
                state.running_background -= 1;
            }
            if let Some(n) = state.by_lane.get_mut(&waiter.lane) {
                *n -= 1;
            }
        }
    }

    /// Runs in flight and waiting, for status.
    pub fn load(&self) -> (usize, usize) {
        let state = self.lock();
        (state.running, state.queued())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud() -> Lane {
        Lane::Provider("cloud".into())
    }

    fn limits(max_running: usize, reserved: usize, per_lane: usize) -> Limits {
        Limits { max_running, interactive_reserved: reserved, per_lane, lanes: HashMap::new(), max_queued: 8 }
    }

    #[tokio::test]
    async fn interactive_runs_go_first_and_keep_their_reserved_slot() {
        let s = Scheduler::new(limits(2, 1, 10));
        let b1 = s.try_acquire(Class::Background, &Lane::Offline).expect("a background slot");
        assert!(s.try_acquire(Class::Background, &Lane::Offline).is_none(), "the other slot is reserved");
        let i1 = s.try_acquire(Class::Interactive, &Lane::Offline).expect("the reserved slot");
        // Both busy: a background and an interactive waiter; the interactive one is served first.
        let (s2, s3) = (s.clone(), s.clone());
        let background = tokio::spawn(async move { s2.acquire(Class::Background, "wf", &Lane::Offline).await });
        tokio::task::yield_now().await;
        let interactive = tokio::spawn(async move { s3.acquire(Class::Interactive, "ed", &Lane::Offline).await });
        while s.load().1 < 2 {
            tokio::task::yield_now().await;
        }
        drop(b1);
        let i2 = interactive.await.expect("interactive served");
        assert!(!background.is_finished());
        drop(i1);
        drop(i2);
        let _b2 = background.await.expect("background served after");
        assert_eq!(s.load(), (1, 0));
    }

    #[tokio::test]
    async fn background_owners_take_turns_and_lanes_are_limited() {
        let s = Scheduler::new(Limits { lanes: HashMap::from([(cloud(), 1)]), ..limits(1, 0, 10) });
        let held = s.try_acquire(Class::Background, &Lane::Offline).expect("slot");
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (owner, n) in [("a", 3), ("b", 1)] {
            for i in 0..n {
                let (shared, order) = (s.clone(), order.clone());
                tasks.push(tokio::spawn(async move {
                    let permit = shared.acquire(Class::Background, owner, &Lane::Offline).await;
                    order.lock().expect("lock").push(format!("{owner}{i}"));
                    drop(permit);
                }));
                while s.load().1 < tasks.len() {
                    tokio::task::yield_now().await;
                }
            }
        }
        drop(held);
        for task in tasks {
            task.await.expect("served");
        }
        // b's only run does not wait behind all of a's.
        assert_eq!(*order.lock().expect("lock"), ["a0", "b0", "a1", "a2"]);
        let s = Scheduler::new(Limits { lanes: HashMap::from([(cloud(), 1)]), ..limits(4, 0, 10) });
        let _cloud = s.try_acquire(Class::Interactive, &cloud()).expect("slot");
        assert!(s.try_acquire(Class::Interactive, &cloud()).is_none(), "lane full");
        assert!(s.try_acquire(Class::Interactive, &Lane::Offline).is_some(), "other lanes are not");
        // A lane of two: background work takes one, the other waits for the editor.
        let s = Scheduler::new(Limits { lanes: HashMap::from([(cloud(), 2)]), ..limits(8, 0, 10) });
        let _bg = s.try_acquire(Class::Background, &cloud()).expect("slot");
        assert!(s.try_acquire(Class::Background, &cloud()).is_none(), "kept for interactive runs");
        assert!(s.try_acquire(Class::Interactive, &cloud()).is_some());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_a_waiter_that_gives_up_frees_its_grant() {
        let s = Scheduler::new(Limits { max_queued: 1, ..limits(1, 0, 10) });
        let held = s.try_acquire(Class::Background, &Lane::Offline).expect("slot");
        let s2 = s.clone();
        let waiting = tokio::spawn(async move { s2.acquire(Class::Background, "a", &Lane::Offline).await });
        while s.load().1 < 1 {
            tokio::task::yield_now().await;
        }
        let busy = s.admit(Class::Background).expect_err("full");
        assert_eq!(busy.to_string(), "the daemon is busy: 1 runs are waiting (limit 1); try again shortly");
        waiting.abort();
        let _ = waiting.await;
        drop(held);
        assert_eq!(s.load(), (0, 0), "the abandoned grant went back");
        assert!(s.try_acquire(Class::Background, &Lane::Offline).is_some());
    }
}
