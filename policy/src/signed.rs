//! The hub's signature over a member's policy: Ed25519 over the exact bytes of
//! the payload, which travels base64-encoded beside the signature, so nothing
//! re-serialised is ever verified. A daemon pins the hub's public key when it
//! joins, and refuses a policy that is not signed by it or has expired.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::rules::Rules;

/// A member's policy: every source that applies to them, widest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub org: String,
    pub member: i64,
    pub issued_at: jiff::Timestamp,
    pub expires_at: jiff::Timestamp,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `org`, `team:NAME`, `member`.
    pub scope: String,
    pub rules: Rules,
}

/// What travels: the payload's bytes and their signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The policy's JSON, base64.
    pub payload: String,
    /// Ed25519 over the payload's bytes, base64.
    pub signature: String,
    /// Which key signed it (`key_id` of its public key).
    pub key_id: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the policy is not signed by this hub's key (forged, or the hub's key changed: join again)")]
    BadSignature,
    #[error("the policy expired at {0}; the hub must be reached to renew it")]
    Expired(jiff::Timestamp),
    #[error("the policy cannot be read: {0}")]
    Malformed(String),
}

/// A short name for a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(public_key: &[u8]) -> String {
    Sha256::digest(public_key).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A new signing key, as PKCS#8 (what `paired hub keygen` writes).
pub fn generate() -> Result<Vec<u8>, String> {
    let rng = ring::rand::SystemRandom::new();
    Ed25519KeyPair::generate_pkcs8(&rng).map(|doc| doc.as_ref().to_vec()).map_err(|_| "no randomness".to_owned())
}

/// The hub's signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl SigningKey {
    pub fn from_pkcs8(bytes: &[u8]) -> Result<SigningKey, String> {
        Ed25519KeyPair::from_pkcs8(bytes)
            .map(|pair| SigningKey { pair })
            .map_err(|err| format!("not an Ed25519 key in PKCS#8 ({err})"))
    }

    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    pub fn sign(&self, policy: &Policy) -> Envelope {
        let payload = serde_json::to_vec(policy).unwrap_or_default();
        let signature = self.pair.sign(&payload);
        Envelope {
            payload: STANDARD.encode(&payload),
            signature: STANDARD.encode(signature.as_ref()),
            key_id: key_id(self.public_key()),
        }
    }
}

/// The policy in `envelope`, if `public_key` signed it and it has not expired at `now`.
pub fn verify(envelope: &Envelope, public_key: &[u8], now: jiff::Timestamp) -> Result<Policy, VerifyError> {
    let payload = STANDARD.decode(&envelope.payload).map_err(|err| VerifyError::Malformed(err.to_string()))?;
    let signature = STANDARD.decode(&envelope.signature).map_err(|err| VerifyError::Malformed(err.to_string()))?;
    UnparsedPublicKey::new(&ED25519, public_key).verify(&payload, &signature).map_err(|_| VerifyError::BadSignature)?;
    let policy: Policy = serde_json::from_slice(&payload).map_err(|err| VerifyError::Malformed(err.to_string()))?;
    if now >= policy.expires_at {
        return Err(VerifyError::Expired(policy.expires_at));
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(expires_in_secs: i64) -> Policy {
        let now = jiff::Timestamp::now();
        Policy {
            org: "acme".into(),
            member: 7,
            issued_at: now,
            expires_at: now + jiff::SignedDuration::from_secs(expires_in_secs),
            sources: vec![Source { scope: "org".into(), rules: Rules::default() }],
        }
    }

    #[test]
    fn signed_verifies_and_anything_else_does_not() {
        let key = SigningKey::from_pkcs8(&generate().expect("key")).expect("pkcs8");
        let other = SigningKey::from_pkcs8(&generate().expect("key")).expect("pkcs8");
        let now = jiff::Timestamp::now();
        let envelope = key.sign(&policy(60));
        assert_eq!(verify(&envelope, key.public_key(), now).map(|p| p.member), Ok(7));
        assert_eq!(verify(&envelope, other.public_key(), now), Err(VerifyError::BadSignature));
        // One byte of the payload changed: the signature no longer holds.
        let mut payload = STANDARD.decode(&envelope.payload).expect("b64");
        let at = payload.iter().position(|b| *b == b'7').expect("member");
        payload[at] = b'8';
        let forged = Envelope { payload: STANDARD.encode(&payload), ..envelope.clone() };
        assert_eq!(verify(&forged, key.public_key(), now), Err(VerifyError::BadSignature));
        let expired = key.sign(&policy(-1));
        assert!(matches!(verify(&expired, key.public_key(), now), Err(VerifyError::Expired(_))));
        assert_eq!(key_id(key.public_key()).len(), 16);
    }
}
