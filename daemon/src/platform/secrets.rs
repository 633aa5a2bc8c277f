//! API keys in the OS keyring: the Secret Service (GNOME Keyring, KWallet,
//! KeePassXC) on Linux and the BSDs, the Keychain on macOS, the Credential
//! Manager on Windows, through the `keyring` crate.
//!
//! Entries live under the service `paired` with the entry name as the user, so
//! `secret-tool lookup service paired username openai` finds the one
//! `paired providers set-key openai` stored.
//!
//! Every call runs on its own thread with a deadline: a locked or absent Secret
//! Service can block a D-Bus call indefinitely, and neither a run nor the
//! daemon's shutdown may wait on it.

use std::{sync::mpsc, time::Duration};

/// The keyring service every PAIRED entry is stored under.
pub const SERVICE: &str = "paired";

/// How long a keyring call may take before we give up on it.
const DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyringError {
    #[error("the OS keyring has no entry {SERVICE}/{0}; store one with `paired providers set-key {0}`")]
    Missing(String),
    #[error(
        "the OS keyring is not available ({0}); start and unlock a Secret Service (GNOME Keyring, KWallet, KeePassXC), or use api_key_env instead"
    )]
    Unavailable(String),
    #[error("the OS keyring did not answer within {}s (is it locked?); unlock it, or use api_key_env instead", DEADLINE.as_secs())]
    Timeout,
    #[error("the entry name {0:?} is not valid: use letters, digits, `-`, `_` and `.`")]
    BadName(String),
}

/// The key stored under `entry`.
pub fn get(entry: &str) -> Result<String, KeyringError> {
    let name = checked(entry)?;
    let found = with_deadline(DEADLINE, move || keyring::Entry::new(SERVICE, &name)?.get_password())?;
    match found {
        Ok(key) if !key.trim().is_empty() => Ok(key.trim().to_owned()),
        Ok(_) | Err(keyring::Error::NoEntry) => Err(KeyringError::Missing(entry.to_owned())),
        Err(err) => Err(KeyringError::Unavailable(describe(&err))),
    }
}

/// Stores `key` under `entry`, replacing what was there.
pub fn set(entry: &str, key: &str) -> Result<(), KeyringError> {
    let name = checked(entry)?;
    let key = key.to_owned();
    with_deadline(DEADLINE, move || keyring::Entry::new(SERVICE, &name)?.set_password(&key))?
        .map_err(|err| KeyringError::Unavailable(describe(&err)))
}

/// Removes `entry`; `Ok(false)` when there was none.
pub fn delete(entry: &str) -> Result<bool, KeyringError> {
    let name = checked(entry)?;
    match with_deadline(DEADLINE, move || keyring::Entry::new(SERVICE, &name)?.delete_credential())? {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(err) => Err(KeyringError::Unavailable(describe(&err))),
    }
}

/// Entry names become D-Bus attributes and file names on some platforms: keep them plain.
pub fn checked(entry: &str) -> Result<String, KeyringError> {
    let ok = !entry.is_empty()
        && entry.len() <= 64
        && entry.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(entry.to_owned()) } else { Err(KeyringError::BadName(entry.to_owned())) }
}

/// Runs a keyring call on a thread of its own and waits at most `deadline`.
/// The thread is detached: a call stuck in D-Bus is abandoned, not joined.
fn with_deadline<T: Send + 'static>(
    deadline: Duration,
    call: impl FnOnce() -> keyring::Result<T> + Send + 'static,
) -> Result<keyring::Result<T>, KeyringError> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("paired-keyring".into())
        .spawn(move || {
            let _ = tx.send(call());
        })
        .map_err(|err| KeyringError::Unavailable(format!("cannot start a thread: {err}")))?;
    rx.recv_timeout(deadline).map_err(|err| match err {
        mpsc::RecvTimeoutError::Timeout => KeyringError::Timeout,
        // The thread died without answering: the platform library panicked.
        mpsc::RecvTimeoutError::Disconnected => KeyringError::Unavailable("the keyring library failed".into()),
    })
}

/// The error and its causes on one line; keyring errors never contain the secret.
fn describe(err: &keyring::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_plain() {
        assert_eq!(checked("openai-prod_2.eu"), Ok("openai-prod_2.eu".to_owned()));
        for bad in ["", "a b", "../x", "a/b", "ключ", &"x".repeat(65)] {
            assert_eq!(checked(bad), Err(KeyringError::BadName(bad.to_owned())), "{bad:?}");
        }
    }

    #[test]
    fn a_stuck_keyring_call_times_out_instead_of_blocking() {
        // A call that never returns, as a locked Secret Service's can.
        let (_keep, never) = mpsc::channel::<()>();
        let err = with_deadline(Duration::from_millis(20), move || {
            let _ = never.recv();
            Ok(())
        })
        .expect_err("a call that never returns must time out");
        assert_eq!(err, KeyringError::Timeout);
    }
}
