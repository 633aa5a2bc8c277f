//! How the marketplace says no: one enum for every `market/*` and
//! `agents/generate` refusal, mapped to JSON-RPC codes only at the server's edge.

/// Why the marketplace refused or could not answer a request.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// What a registry served does not verify: signatures, hashes, lengths, names.
    #[error("{0}")]
    Verification(String),
    /// Yanked, incompatible, already in that state.
    #[error("{0}")]
    Conflict(String),
    /// The user's or the organisation's policy says no.
    #[error("{0}")]
    Refused(String),
    /// Over a configured size.
    #[error("{0}")]
    Limit(String),
    #[error("{0}")]
    NeedsLicence(String),
    /// The agent asks for permissions: `data` is what to show the user.
    #[error("{message}")]
    NeedsConsent { message: String, data: serde_json::Value },
    #[error("{0}")]
    Internal(String),
}
