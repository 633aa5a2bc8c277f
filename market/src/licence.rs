//! Licences for paid agents: a token signed by the registry's licensing key
//! (Ed25519), bound to one agent, one licensee (a user, or `org:<domain>` for
//! everyone at an organisation) and an expiry. The public keys are a signed
//! TUF target of the registry (`licensing.json`), so a client trusts them as
//! much as the packages; they are kept with the installed agent, so a licence
//! is verified offline — at install and before every run. Payment itself is
//! the marketplace web side's business: it issues the tokens.
//!
//! Token: `paired-licence.v1.<payload>.<signature>`, both base64url; the
//! payload is the JSON of [`Licence`].

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

const PREFIX: &str = "paired-licence.v1.";

/// The registry target holding the licensing public keys.
pub const TARGET: &str = "licensing.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    pub agent: String,
    /// `alice@acme.example`, or `org:acme.example`.
    pub licensee: String,
    /// Unix seconds.
    pub issued: i64,
    pub expires: i64,
    /// Id of the key that signed it.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicensingKeys {
    pub keys: Vec<PublicKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKey {
    pub id: String,
    /// Raw Ed25519 public key, hex.
    pub public: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// The public half of a PKCS#8 Ed25519 key, with its id (the first 16 hex
/// digits of the key itself).
pub fn public_key(pkcs8: &[u8]) -> Result<PublicKey, String> {
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| "not an Ed25519 PKCS#8 key".to_owned())?;
    let public = hex(pair.public_key().as_ref());
    Ok(PublicKey { id: public[..16].to_owned(), public })
}

pub fn issue(pkcs8: &[u8], agent: &str, licensee: &str, issued: i64, expires: i64) -> Result<String, String> {
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| "not an Ed25519 PKCS#8 key".to_owned())?;
    let key = public_key(pkcs8)?.id;
    let licence = Licence { agent: agent.to_owned(), licensee: licensee.to_owned(), issued, expires, key };
    let payload = serde_json::to_vec(&licence).map_err(|e| e.to_string())?;
    let signature = pair.sign(&payload);
    Ok(format!("{PREFIX}{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(signature.as_ref())))
}

/// Checks a token for `agent` and `licensee` at `now`: signed by one of
/// `keys`, not expired, and for them. The error says which.
pub fn verify(token: &str, keys: &LicensingKeys, agent: &str, licensee: &str, now: i64) -> Result<Licence, String> {
    let body = token.trim().strip_prefix(PREFIX).ok_or("not a PAIRED licence (paired-licence.v1.…)")?;
    let (payload, signature) = body.split_once('.').ok_or("a licence has two parts after its prefix")?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| "the licence is damaged (payload)")?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| "the licence is damaged (signature)")?;
    let licence: Licence = serde_json::from_slice(&payload).map_err(|_| "the licence is damaged (contents)")?;
    let key =
        keys.keys.iter().find(|k| k.id == licence.key).ok_or_else(|| {
            format!("the licence was signed by key {}, which this registry does not use", licence.key)
        })?;
    let public = unhex(&key.public).ok_or("the registry's licensing key is damaged")?;
    UnparsedPublicKey::new(&ED25519, public)
        .verify(&payload, &signature)
        .map_err(|_| "the licence's signature does not verify: it was altered or forged".to_owned())?;
    if licence.agent != agent {
        return Err(format!("the licence is for {}, not {agent}", licence.agent));
    }
    let organisation = licensee.rsplit_once('@').map(|(_, domain)| format!("org:{domain}"));
    if licence.licensee != licensee && Some(&licence.licensee) != organisation.as_ref() {
        return Err(format!(
            "the licence is for {}, and this user is {:?} (market.licensee)",
            licence.licensee, licensee
        ));
    }
    if licence.expires <= now {
        let when = jiff::Timestamp::from_second(licence.expires).map(|t| t.to_string()).unwrap_or_default();
        return Err(format!("the licence expired at {when}"));
    }
    Ok(licence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Vec<u8> {
        Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key").as_ref().to_vec()
    }

    #[test]
    fn a_licence_binds_agent_licensee_and_expiry() {
        let registry = key();
        let keys = LicensingKeys { keys: vec![public_key(&registry).expect("public")] };
        let token = issue(&registry, "pro-auditor", "alice@acme.example", 100, 1_000).expect("issue");
        assert!(verify(&token, &keys, "pro-auditor", "alice@acme.example", 500).is_ok());
        let err = |t: &str, agent: &str, who: &str, now: i64| verify(t, &keys, agent, who, now).expect_err("refused");
        assert!(err(&token, "other-agent", "alice@acme.example", 500).contains("is for pro-auditor"));
        assert!(err(&token, "pro-auditor", "bob@acme.example", 500).contains("this user is"));
        assert!(err(&token, "pro-auditor", "alice@acme.example", 1_000).contains("expired"));
        // An organisation licence covers everyone at that domain.
        let org = issue(&registry, "pro-auditor", "org:acme.example", 100, 1_000).expect("issue");
        assert!(verify(&org, &keys, "pro-auditor", "bob@acme.example", 500).is_ok());
        assert!(verify(&org, &keys, "pro-auditor", "eve@evil.example", 500).is_err());
        // Another key's licence, and an altered one.
        let forged = issue(&key(), "pro-auditor", "alice@acme.example", 100, 1_000).expect("issue");
        assert!(err(&forged, "pro-auditor", "alice@acme.example", 500).contains("does not use"));
        let (head, signature) = token.rsplit_once('.').expect("parts");
        let payload = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(head.trim_start_matches(PREFIX)).expect("b64"))
                .expect("utf-8")
                .replace("1000", "9999")
                .as_bytes(),
        );
        let altered = format!("{PREFIX}{payload}.{signature}");
        assert!(err(&altered, "pro-auditor", "alice@acme.example", 500).contains("altered or forged"));
        assert!(err("garbage", "pro-auditor", "alice@acme.example", 500).contains("not a PAIRED licence"));
    }
}
