//! Tokens and invitation codes: random, shown once, stored only as SHA-256
//! hashes (they carry 256 and 80 bits of entropy, so a fast hash is the right
//! one: there is nothing to guess), compared in constant time.

use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

pub type Hash = [u8; 32];

/// The kinds of token the hub hands out, by prefix (so a leaked one is
/// recognisable to secret scanners and to people).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Personal,
    Device,
    /// A console session's cookie (never a bearer token).
    Console,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Personal => "personal",
            Kind::Device => "device",
            Kind::Console => "console",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Kind::Personal => "phub_pat_",
            Kind::Device => "phub_dev_",
            Kind::Console => "phub_web_",
        }
    }
}

pub fn hash(text: &str) -> Hash {
    Sha256::digest(text.as_bytes()).into()
}

pub fn equal(a: &Hash, b: &Hash) -> bool {
    a.ct_eq(b).into()
}

/// A new token of `kind` (256 random bits) and its hash.
pub fn new_token(kind: Kind) -> (String, Hash) {
    let mut bytes = [0u8; 32];
    fill(&mut bytes);
    let token = format!("{}{}", kind.prefix(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let digest = hash(&token);
    (token, digest)
}

/// Crockford's base32: no I, L, O or U, so a code read aloud or typed is not
/// mistaken.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new invitation code, `XXXX-XXXX-XXXX-XXXX` (80 random bits), and its hash.
pub fn new_code() -> (String, Hash) {
    let mut bytes = [0u8; 16];
    fill(&mut bytes);
    let chars: String = bytes.iter().map(|b| CODE_ALPHABET[usize::from(b & 31)] as char).collect();
    let code = format!("{}-{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12], &chars[12..16]);
    let digest = code_hash(&code);
    (code, digest)
}

/// The hash of a code as typed: case, dashes and spaces do not matter, nor do
/// the letters Crockford's alphabet reads as digits.
pub fn code_hash(typed: &str) -> Hash {
    let normal: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    hash(&normal)
}

/// The break-glass admin token from its file: at least 32 characters.
pub fn read_admin_token(path: &Path) -> anyhow::Result<Hash> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let token = text.trim();
    anyhow::ensure!(
        token.len() >= 32,
        "{}: the admin token must be at least 32 characters (e.g. `head -c 32 /dev/urandom | base64`)",
        path.display()
    );
    Ok(hash(token))
}

fn fill(bytes: &mut [u8]) {
    // The OS's generator; nothing sensible is left to do without one.
    getrandom::fill(bytes).expect("the operating system's random number generator failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_found_however_it_is_typed() {
        let (code, digest) = new_code();
        assert_eq!(code.len(), 19);
        assert!(equal(&code_hash(&code.to_lowercase()), &digest));
        assert!(equal(&code_hash(&code.replace('-', " ")), &digest));
        assert_eq!(code_hash("0O-1il"), code_hash("00 111"));
    }

    #[test]
    fn tokens_say_what_they_are_and_differ() {
        let (a, ha) = new_token(Kind::Personal);
        let (b, _) = new_token(Kind::Personal);
        assert!(a.starts_with("phub_pat_") && a.len() == 9 + 43);
        assert_ne!(a, b);
        assert!(equal(&hash(&a), &ha));
        assert!(new_token(Kind::Device).0.starts_with("phub_dev_"));
    }
}
