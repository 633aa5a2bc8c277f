//! Time and ids: the wall clock in milliseconds, the clock expiry checks read
//! (which tests may move forward), and random ids for runs and sessions (never
//! all zeros: without randomness from the OS, the clock).

use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch (0 for a clock before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Seconds the expiry clock is ahead of the wall clock: moved only by the
/// `debug/advance_clock` test hook (served with `PAIRED_TEST_HOOKS=1`), so a
/// test of an expiry need not wait for it.
static AHEAD_SECS: AtomicI64 = AtomicI64::new(0);

/// Seconds since the Unix epoch, as expiry checks (licences) read them.
pub fn expiry_now() -> i64 {
    (now_ms() / 1000) as i64 + AHEAD_SECS.load(Ordering::Relaxed)
}

/// Moves the expiry clock forward by `secs` (tests only); returns how far ahead it is.
pub fn advance_expiry_clock(secs: i64) -> i64 {
    AHEAD_SECS.fetch_add(secs.max(0), Ordering::Relaxed) + secs.max(0)
}

/// `prefix-` and 16 hex digits: random, or the clock's nanoseconds if the OS
/// has no randomness to give (an id, not a secret).
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        bytes = nanos.to_le_bytes();
    }
    format!("{prefix}-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_prefixed_hex_and_differ() {
        let (a, b) = (super::new_id("run"), super::new_id("run"));
        assert!(a.starts_with("run-") && a.len() == 4 + 16, "{a}");
        assert!(a[4..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
