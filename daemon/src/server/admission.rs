//! Admitting connections before they have proved anything: the accept loop of
//! every port the daemon listens on.
//!
//! Anyone on the machine can open a TCP connection to a loopback port. Until a
//! connection has sent a request that passed the guard (a good token, or any
//! valid request where no token is asked), it is *pending*, and pending
//! connections are capped and short-lived:
//! - at most `limit` at once; one more evicts the oldest pending connection,
//!   so a flood of idle sockets cannot lock out a token holder, whose handshake
//!   completes in a millisecond;
//! - each must authenticate within `timeout`, or it is closed;
//! - when the process runs out of descriptors, `accept` backs off (instead of
//!   spinning on a listener that stays readable) and the oldest pending
//!   connection is closed to make room;
//! - errors are logged at most once per [`LOG_EVERY`], with how many were not.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::platform::os;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::Notify,
};

/// How often a repeated accept error is logged.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// The caps on connections that have not authenticated yet.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub limit: usize,
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { limit: 64, timeout: Duration::from_secs(10) }
    }
}

/// The pending connections of one listener, oldest first.
#[derive(Debug)]
pub struct Gate {
    limits: Limits,
    next_id: AtomicU64,
    pending: Mutex<BTreeMap<u64, Arc<Slot>>>,
}

#[derive(Debug, Default)]
struct Slot {
    authenticated: AtomicBool,
    evicted: Notify,
}

/// One accepted connection's place at the gate, cloned into the connection's
/// requests (an HTTP request extension) so the guard can admit it.
#[derive(Debug, Clone)]
pub struct Admission {
    id: u64,
    slot: Arc<Slot>,
    gate: Arc<Gate>,
}

impl Gate {
    pub fn new(limits: Limits) -> Arc<Gate> {
        Arc::new(Gate { limits, next_id: AtomicU64::new(0), pending: Mutex::new(BTreeMap::new()) })
    }

    /// How many connections are waiting to authenticate.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// Takes a place for a new connection, evicting the oldest pending one when
    /// the gate is full.
    pub fn admit(self: &Arc<Gate>) -> Admission {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot::default());
        let mut pending = self.lock();
        pending.insert(id, slot.clone());
        while pending.len() > self.limits.limit.max(1) {
            if let Some((_, oldest)) = pending.pop_first() {
                oldest.evicted.notify_one();
            }
        }
        drop(pending);
        Admission { id, slot, gate: self.clone() }
    }

    /// Closes the oldest pending connection; `false` when there is none.
    pub fn evict_oldest(&self) -> bool {
        let oldest = self.lock().pop_first();
        oldest.map(|(_, slot)| slot.evicted.notify_one()).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Slot>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Admission {
    /// The connection proved itself: it is no longer capped or timed.
    pub fn authenticated(&self) {
        if !self.slot.authenticated.swap(true, Ordering::AcqRel) {
            self.gate.lock().remove(&self.id);
        }
    }

    /// Whether the connection has proved itself already.
    pub fn is_authenticated(&self) -> bool {
        self.slot.authenticated.load(Ordering::Acquire)
    }

    /// Runs a connection until it ends, it is evicted, or it has not
    /// authenticated when the gate's timeout passes. Dropping the connection's
    /// future closes its socket.
    pub async fn run(self, connection: impl Future<Output = ()>) {
        let deadline = tokio::time::sleep(self.gate.limits.timeout);
        tokio::pin!(connection, deadline);
        let mut timed = true;
        loop {
            tokio::select! {
                () = &mut connection => break,
                () = self.slot.evicted.notified() => {
                    tracing::debug!(connection = self.id, "closed a connection that had not authenticated (too many pending)");
                    break;
                }
                () = &mut deadline, if timed => {
                    if !self.slot.authenticated.load(Ordering::Acquire) {
                        tracing::debug!(connection = self.id, "closed a connection that did not authenticate in time");
                        break;
                    }
                    timed = false;
                }
            }
        }
        self.gate.lock().remove(&self.id);
    }
}

/// A socket the daemon accepts connections on: loopback TCP, or its private
/// Unix socket.
pub trait Listener: Send + Sync + 'static {
    type Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static;
    /// The next connection; `Ok(None)` for one that was refused at once.
    fn accept(&self) -> impl Future<Output = std::io::Result<Option<Self::Io>>> + Send;
}

impl Listener for TcpListener {
    type Io = TcpStream;
    async fn accept(&self) -> std::io::Result<Option<TcpStream>> {
        let (socket, _) = TcpListener::accept(self).await?;
        let _ = socket.set_nodelay(true);
        Ok(Some(socket))
    }
}

impl Listener for os::LocalListener {
    type Io = os::LocalStream;
    /// Only this user's processes: the socket's folder is private already, and
    /// the kernel's word on the peer (`SO_PEERCRED`) is checked as well.
    async fn accept(&self) -> std::io::Result<Option<os::LocalStream>> {
        let (socket, _) = os::LocalListener::accept(self).await?;
        match os::local_peer_uid(&socket) {
            Ok(uid) if uid == os::current_uid() => Ok(Some(socket)),
            Ok(uid) => {
                tracing::warn!(uid, "refused a connection to the daemon's socket from another user");
                Ok(None)
            }
            Err(err) => {
                tracing::warn!("refused a connection to the daemon's socket: no peer credentials: {err}");
                Ok(None)
            }
        }
    }
}

/// Accepts connections until `stopped` completes, handing each to `serve` with
/// its place at the gate. When it stops, connections still pending are closed
/// at once (a shutdown never waits on an unauthenticated socket).
pub async fn accept_loop<L: Listener>(
    listener: L,
    gate: Arc<Gate>,
    stopped: impl Future<Output = ()>,
    mut serve: impl FnMut(L::Io, Admission),
) {
    tokio::pin!(stopped);
    let mut errors = RateLimitedLog::default();
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = tokio::select! {
            () = &mut stopped => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok(Some(socket)) => {
                backoff = Duration::ZERO;
                let admission = gate.admit();
                serve(socket, admission);
            }
            Ok(None) => backoff = Duration::ZERO,
            Err(err) if crate::platform::os::is_resource_exhaustion(&err) => {
                // The pending connection has not been taken off the queue; room
                // is made by closing an unauthenticated one, and by waiting.
                let evicted = gate.evict_oldest();
                backoff = (backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
                errors.log(|suppressed| {
                    tracing::warn!(
                        suppressed,
                        evicted,
                        "cannot accept a connection: {err}; waiting {} ms (raise `ulimit -n` if this persists)",
                        backoff.as_millis()
                    );
                });
                tokio::select! {
                    () = &mut stopped => break,
                    () = tokio::time::sleep(backoff) => {}
                }
            }
            // A client that gave up before we accepted it, and such.
            Err(err) => errors.log(|suppressed| tracing::debug!(suppressed, "cannot accept a connection: {err}")),
        }
    }
    while gate.evict_oldest() {}
}

/// Logs at most once per [`LOG_EVERY`], counting what it held back.
#[derive(Debug, Default)]
pub struct RateLimitedLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    pub fn log(&mut self, write: impl FnOnce(u64)) {
        if self.last.is_some_and(|t| t.elapsed() < LOG_EVERY) {
            self.suppressed += 1;
            return;
        }
        write(self.suppressed);
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_gate_evicts_the_oldest_pending_connection_not_an_authenticated_one() {
        let gate = Gate::new(Limits { limit: 2, timeout: Duration::from_secs(60) });
        let first = gate.admit();
        first.authenticated();
        let second = gate.admit();
        let third = gate.admit();
        assert_eq!(gate.pending(), 2);
        let fourth = gate.admit();
        assert_eq!(gate.pending(), 2);
        // `second` was the oldest pending one: its connection ends at once.
        let evicted = tokio::time::timeout(Duration::from_secs(5), second.run(std::future::pending())).await;
        assert!(evicted.is_ok(), "the oldest pending connection was not closed");
        // The authenticated one runs until its connection ends.
        let still = tokio::time::timeout(Duration::from_millis(50), first.run(std::future::pending())).await;
        assert!(still.is_err());
        drop((third, fourth));
    }

    #[tokio::test]
    async fn a_connection_that_does_not_authenticate_in_time_is_closed() {
        let gate = Gate::new(Limits { limit: 8, timeout: Duration::from_millis(100) });
        let idle = gate.admit();
        let started = Instant::now();
        idle.run(std::future::pending()).await;
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(gate.pending(), 0);

        let proved = gate.admit();
        proved.authenticated();
        let ran = tokio::time::timeout(Duration::from_millis(400), proved.run(std::future::pending())).await;
        assert!(ran.is_err(), "an authenticated connection is not timed");
    }

    #[test]
    fn repeated_errors_are_logged_once_per_period_with_a_count() {
        let mut log = RateLimitedLog::default();
        let mut written = Vec::new();
        for _ in 0..1000 {
            log.log(|suppressed| written.push(suppressed));
        }
        assert_eq!(written, [0]);
        log.last = Some(Instant::now() - LOG_EVERY);
        log.log(|suppressed| written.push(suppressed));
        assert_eq!(written, [0, 999]);
    }
}
