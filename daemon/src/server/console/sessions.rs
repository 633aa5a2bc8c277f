//! One-time sign-in codes and console sessions, in memory: a daemon restart
//! signs every browser out.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::Mutex,
    time::{Duration, Instant},
};

use base64::Engine;
use subtle::ConstantTimeEq;

/// How long a code from `paired console` may wait for the browser.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long a session lasts, however busy.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// How long an untouched session lasts.
const IDLE_LIFETIME: Duration = Duration::from_secs(2 * 3600);
/// Codes waiting and sessions open at most; one more drops the oldest.
const MAX_CODES: usize = 8;
const MAX_SESSIONS: usize = 32;

struct Code {
    code: String,
    issued: Instant,
    /// The redirect page written for it, removed when it is used or expires.
    file: Option<PathBuf>,
}

struct Session {
    started: Instant,
    seen: Instant,
}

pub struct Logins {
    /// The secret path the console lives under this run (`/console/SECRET/`):
    /// the session cookie is scoped to it, so a browser never sends it to a
    /// server on another port of this machine (cookies do not tell ports
    /// apart; paths they do).
    base: String,
    codes: Mutex<Vec<Code>>,
    sessions: Mutex<HashMap<String, Session>>,
}

impl Default for Logins {
    fn default() -> Logins {
        Logins {
            base: format!("/console/{}/", &random_id()[..22]),
            codes: Mutex::default(),
            sessions: Mutex::default(),
        }
    }
}

fn random_id() -> String {
    let mut bytes = [0u8; 32];
    // The OS's generator failing leaves no way to make a secret: refuse to run.
    getrandom::fill(&mut bytes).expect("the OS random number generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Logins {
    /// `/console/SECRET/`: where the console's pages and API are for a signed-in browser.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A new one-time code, and a page in `runtime_dir` that opens the
    /// console with it (`None` where the page cannot be written); the page
    /// goes when the code is used or expires.
    pub fn issue(&self, url: &str, runtime_dir: &std::path::Path) -> (String, Option<PathBuf>) {
        let code = random_id();
        // Named by other random bits: the name is on the browser's command line.
        let file = runtime_dir.join(format!("console-{}.html", &random_id()[..16]));
        let target = format!("{url}#login={code}");
        let page = format!(
            "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
             <meta http-equiv=\"refresh\" content=\"0;url={target}\"><title>PAIRED console</title>\
             <p>Opening the PAIRED console… <a href=\"{target}\">continue</a></p>"
        );
        let file = match crate::platform::paths::write_private(&file, page.as_bytes()) {
            Ok(()) => Some(file),
            Err(err) => {
                tracing::warn!("cannot write the console's sign-in page: {err:#}");
                None
            }
        };
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        expire_codes(&mut codes);
        if codes.len() >= MAX_CODES {
            remove_page(codes.remove(0));
        }
        codes.push(Code { code: code.clone(), issued: Instant::now(), file: file.clone() });
        if let (Some(page), Ok(runtime)) = (file.clone(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(async move {
                tokio::time::sleep(CODE_LIFETIME).await;
                let _ = std::fs::remove_file(page);
            });
        }
        (code, file)
    }

    /// Trades a code (once) for a new session id.
    pub fn redeem(&self, code: &str) -> Option<String> {
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        expire_codes(&mut codes);
        let index = codes.iter().position(|c| bool::from(c.code.as_bytes().ct_eq(code.as_bytes())))?;
        remove_page(codes.remove(index));
        drop(codes);
        let id = random_id();
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        sessions.retain(|_, s| live(s, now));
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.seen).map(|(id, _)| id.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(id.clone(), Session { started: now, seen: now });
        Some(id)
    }

    /// The session `id` when it is live (and marks it used).
    pub fn session(&self, id: &str) -> Option<String> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let session = sessions.get_mut(id)?;
        if !live(session, now) {
            sessions.remove(id);
            return None;
        }
        session.seen = now;
        Some(id.to_owned())
    }

    /// Removes sign-in pages a previous daemon left (stopped before their codes expired).
    pub fn sweep(runtime_dir: &std::path::Path) {
        let Ok(entries) = std::fs::read_dir(runtime_dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("console-") && name.ends_with(".html") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    pub fn end(&self, id: &str) {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

fn live(session: &Session, now: Instant) -> bool {
    now.duration_since(session.started) < SESSION_LIFETIME && now.duration_since(session.seen) < IDLE_LIFETIME
}

fn expire_codes(codes: &mut Vec<Code>) {
    let (expired, kept): (Vec<Code>, Vec<Code>) = codes.drain(..).partition(|c| c.issued.elapsed() >= CODE_LIFETIME);
    *codes = kept;
    expired.into_iter().for_each(remove_page);
}

fn remove_page(code: Code) {
    if let Some(file) = code.file {
        let _ = std::fs::remove_file(file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_signs_in_once_and_its_page_goes_with_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logins = Logins::default();
        let (code, page) = logins.issue("http://127.0.0.1:1/console/", dir.path());
        let page = page.expect("a page");
        assert!(std::fs::read_to_string(&page).expect("page").contains(&format!("#login={code}")));
        assert!(logins.redeem("wrong").is_none());
        let session = logins.redeem(&code).expect("signed in");
        assert!(!page.exists(), "the page is removed once used");
        assert!(logins.redeem(&code).is_none(), "a code works once");
        assert_eq!(logins.session(&session).as_deref(), Some(session.as_str()));
        logins.end(&session);
        assert!(logins.session(&session).is_none());
    }

    #[test]
    fn codes_and_sessions_are_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logins = Logins::default();
        let codes: Vec<String> = (0..MAX_CODES + 1).map(|_| logins.issue("u", dir.path()).0).collect();
        assert!(logins.redeem(&codes[0]).is_none(), "the oldest code made room");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), MAX_CODES);
        let sessions: Vec<String> =
            (0..MAX_SESSIONS + 1).filter_map(|_| logins.redeem(&logins.issue("u", dir.path()).0)).collect();
        assert_eq!(sessions.len(), MAX_SESSIONS + 1);
        assert!(logins.session(&sessions[0]).is_none(), "the oldest session made room");
        assert!(logins.session(&sessions[MAX_SESSIONS]).is_some());
    }
}
