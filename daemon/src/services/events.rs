//! The daemon's event stream, and waiting on it for something recorded
//! elsewhere (a run or a session to finish): one loop, for every service that
//! waits.
//!
//! Each subscriber names the kinds of events it takes ([`Interest`]) and is
//! handed only those, in the order they were sent, through a queue of its
//! own. A broadcast channel woke every subscriber for every event, each to
//! clone it and throw it away: fifty editors opening 188 documents each woke
//! ~70 subscribers 9,400 times over (#18.7), on the runtime's two workers
//! that answer every editor. A subscriber whose queue is full loses its
//! oldest events and is told how many ([`RecvError::Lagged`]) before the
//! rest, as a broadcast channel's receiver is.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, MutexGuard, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use protocol::client::Event;
use tokio::sync::Notify;
pub use tokio::sync::broadcast::error::RecvError;

/// Which kinds of events a subscriber takes (`Event::KINDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest(u64);

const _: () = assert!(Event::KINDS.len() <= 64, "an Interest has a bit per kind");

impl Interest {
    /// Every kind.
    pub const ALL: Interest = Interest(u64::MAX);

    /// The kinds named (`"run_update"`, …); a name that is no kind is no interest.
    pub fn kinds<'a>(kinds: impl IntoIterator<Item = &'a str>) -> Interest {
        Interest(kinds.into_iter().map(bit).fold(0, |all, one| all | one))
    }

    pub fn takes(&self, event: &Event) -> bool {
        self.0 & bit(event.kind()) != 0
    }
}

fn bit(kind: &str) -> u64 {
    Event::KINDS.iter().position(|k| *k == kind).map_or(0, |at| 1 << at)
}

/// Where the daemon's events are sent; clones send to the same subscribers.
#[derive(Clone)]
pub struct Events {
    hub: Arc<Hub>,
}

struct Hub {
    capacity: usize,
    subscribers: Mutex<Vec<Subscriber>>,
    next_id: AtomicU64,
}

struct Subscriber {
    id: u64,
    interest: Interest,
    queue: Arc<Queue>,
}

/// One subscriber's events not yet received; when full, the oldest goes.
#[derive(Default)]
struct Queue {
    events: Mutex<VecDeque<Event>>,
    missed: AtomicU64,
    closed: AtomicBool,
    ready: Notify,
}

/// One subscriber's events; dropping it unsubscribes.
pub struct Receiver {
    id: u64,
    queue: Arc<Queue>,
    hub: Weak<Hub>,
}

impl Events {
    /// Each subscriber's queue holds `capacity` events.
    pub fn new(capacity: usize) -> Events {
        Events {
            hub: Arc::new(Hub { capacity: capacity.max(1), subscribers: Mutex::default(), next_id: AtomicU64::new(0) }),
        }
    }

    /// Hands `event` to every subscriber that takes its kind; returns how many did.
    pub fn send(&self, event: Event) -> usize {
        let kind = bit(event.kind());
        let subscribers = self.hub.subscribers();
        let mut sent = 0;
        for subscriber in subscribers.iter().filter(|s| s.interest.0 & kind != 0) {
            let queue = &subscriber.queue;
            {
                let mut events = queue.events();
                if events.len() >= self.hub.capacity {
                    events.pop_front();
                    queue.missed.fetch_add(1, Ordering::Relaxed);
                }
                events.push_back(event.clone());
            }
            queue.ready.notify_one();
            sent += 1;
        }
        sent
    }

    /// The events of the kinds in `interest` sent from now on.
    pub fn subscribe(&self, interest: Interest) -> Receiver {
        let queue = Arc::new(Queue::default());
        let id = self.hub.next_id.fetch_add(1, Ordering::Relaxed);
        self.hub.subscribers().push(Subscriber { id, interest, queue: queue.clone() });
        Receiver { id, queue, hub: Arc::downgrade(&self.hub) }
    }

    /// How many subscribers there are.
    pub fn subscribers(&self) -> usize {
        self.hub.subscribers().len()
    }
}

impl Hub {
    fn subscribers(&self) -> MutexGuard<'_, Vec<Subscriber>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Hub {
    /// Nothing can send any more: every receiver is told, once it has what was sent.
    fn drop(&mut self) {
        for subscriber in self.subscribers.get_mut().unwrap_or_else(|p| p.into_inner()).iter() {
            subscriber.queue.closed.store(true, Ordering::Release);
            subscriber.queue.ready.notify_one();
        }
    }
}

impl Queue {
    fn events(&self) -> MutexGuard<'_, VecDeque<Event>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Receiver {
    /// The next event; `Lagged(n)` first when the `n` oldest were dropped (the
    /// queue was full), as a broadcast channel says it; `Closed` when nothing
    /// can send any more and everything sent was received.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        loop {
            let missed = self.queue.missed.swap(0, Ordering::Relaxed);
            if missed > 0 {
                return Err(RecvError::Lagged(missed));
            }
            if let Some(event) = self.queue.events().pop_front() {
                return Ok(event);
            }
            if self.queue.closed.load(Ordering::Acquire) {
                return Err(RecvError::Closed);
            }
            // A send between the look above and this wait left a permit: no wake-up is lost.
            self.queue.ready.notified().await;
        }
    }

    /// The next event if one is queued.
    #[cfg(test)]
    pub fn try_recv(&mut self) -> Option<Event> {
        self.queue.events().pop_front()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.subscribers().retain(|subscriber| subscriber.id != self.id);
        }
    }
}

/// Looks (`look`) until it finds what it wants, looking again whenever an
/// event (of the kinds in `interest`) that `may_have_changed` it arrives, or
/// events were missed. Listening
/// starts before the first look, so a change in between is seen either way.
/// `Ok(None)`: the daemon is shutting down.
pub async fn look_until<T, E, F, Fut>(
    events: &Events,
    interest: Interest,
    mut look: F,
    may_have_changed: impl Fn(&Event) -> bool,
) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    let mut listening = events.subscribe(interest);
    loop {
        if let Some(found) = look().await? {
            return Ok(Some(found));
        }
        loop {
            match listening.recv().await {
                Ok(event) if may_have_changed(&event) => break,
                Ok(_) => {}
                // Missed some events: look again.
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use protocol::{agents::RunStatus, client::Event};

    use super::{Events, Interest, RecvError};

    fn update(run: &str) -> Event {
        Event::RunUpdate {
            run_id: run.into(),
            agent: "a".into(),
            status: RunStatus::Succeeded,
            message: None,
            output_delta: None,
        }
    }

    #[tokio::test]
    async fn looks_again_only_when_a_relevant_event_arrives() {
        let sender = Events::new(4);
        let looks = AtomicU32::new(0);
        let waiting = super::look_until(
            &sender,
            Interest::kinds(["run_update"]),
            || {
                let n = looks.fetch_add(1, Ordering::SeqCst);
                async move { Ok::<_, ()>((n == 1).then_some("found")) }
            },
            |e| matches!(e, Event::RunUpdate { run_id, .. } if run_id == "mine"),
        );
        let sending = async {
            tokio::task::yield_now().await;
            assert_eq!(sender.send(Event::DocumentOpened { uri: "file:///a".into() }), 0, "not what it waits for");
            assert_eq!(sender.send(update("other")), 1);
            assert_eq!(sender.send(update("mine")), 1);
        };
        let (found, ()) = tokio::join!(waiting, sending);
        assert_eq!(found, Ok(Some("found")));
        assert_eq!(looks.load(Ordering::SeqCst), 2, "another run's update is no reason to look");
    }

    #[tokio::test]
    async fn each_subscriber_is_handed_the_kinds_it_takes_in_order() {
        let events = Events::new(8);
        let mut runs = events.subscribe(Interest::kinds(["run_update", "no_such_kind"]));
        let mut everything = events.subscribe(Interest::ALL);
        let opened = Event::DocumentOpened { uri: "file:///a".into() };
        assert_eq!(events.send(opened.clone()), 1, "only the one that takes documents");
        assert_eq!(events.send(update("1")), 2);
        assert_eq!(events.send(update("2")), 2);
        assert_eq!(runs.recv().await, Ok(update("1")));
        assert_eq!(runs.recv().await, Ok(update("2")));
        assert_eq!(everything.recv().await, Ok(opened));
        assert_eq!(everything.recv().await, Ok(update("1")));
        assert_eq!(everything.recv().await, Ok(update("2")));
        drop(everything);
        assert_eq!(events.subscribers(), 1, "a dropped receiver unsubscribes");
    }

    #[tokio::test]
    async fn a_full_queue_loses_its_oldest_events_and_says_how_many_then_goes_on() {
        let events = Events::new(2);
        let mut slow = events.subscribe(Interest::ALL);
        for n in 0..5 {
            events.send(update(&n.to_string()));
        }
        assert_eq!(slow.recv().await, Err(RecvError::Lagged(3)), "the three oldest went");
        assert_eq!(slow.recv().await, Ok(update("3")));
        assert_eq!(slow.recv().await, Ok(update("4")));
        events.send(update("5"));
        assert_eq!(slow.recv().await, Ok(update("5")));
        drop(events);
        assert_eq!(slow.recv().await, Err(RecvError::Closed), "nothing can send any more");
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_an_event_and_for_the_end() {
        let events = Events::new(4);
        let mut waiting = events.subscribe(Interest::kinds(["run_update"]));
        let sender = events.clone();
        let (got, ()) = tokio::join!(waiting.recv(), async move {
            tokio::task::yield_now().await;
            sender.send(update("1"));
        });
        assert_eq!(got, Ok(update("1")));
        let ends = tokio::spawn(async move { waiting.recv().await });
        tokio::task::yield_now().await;
        drop(events);
        assert_eq!(ends.await.expect("task"), Err(RecvError::Closed));
    }
}
