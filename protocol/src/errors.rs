//! JSON-RPC error codes PAIRED uses beyond the standard ones.
//!
//! Standard codes: -32700 parse error, -32600 invalid request, -32601 method not
//! found, -32602 invalid params, -32603 internal error. jsonrpsee, the server
//! library, uses -32000, -32001 and -32003..=-32011 for its own limits (batch too
//! large -32010, oversized request -32007, server busy -32009, ...). PAIRED's own
//! codes sit in -32040..=-32059, clear of both.

/// The request was cancelled (`completion/cancel`, or superseded); LSP's code.
pub const REQUEST_CANCELLED: i32 = -32800;
/// The handler failed unexpectedly (it panicked); the daemon keeps serving.
pub const INTERNAL: i32 = -32603;
pub const INVALID_PARAMS: i32 = -32602;
pub const INVALID_REQUEST: i32 = -32600;
/// The request was refused before it reached a method: missing or wrong token,
/// foreign `Host` or `Origin` (sent with HTTP 401 or 403).
pub const REFUSED: i32 = -32040;
/// The request is well-formed but too deeply nested (or otherwise over a limit).
pub const LIMIT_EXCEEDED: i32 = -32041;
/// The request names something (a document, a client) the daemon does not have.
pub const NOT_FOUND: i32 = -32044;
/// The request conflicts with current state, e.g. a document version going backwards.
pub const CONFLICT: i32 = -32049;
/// The daemon cannot be reached (used by the LSP proxy).
pub const DAEMON_UNAVAILABLE: i32 = -32050;
/// No model could answer: none is configured for the request, or the provider
/// failed or timed out (the message says which).
pub const MODEL_UNAVAILABLE: i32 = -32051;
/// An install needs the user's consent to the agent's permissions; the error
/// data holds them (`{"permissions": [..]}`). Ask, then call again with
/// `accept_permissions`.
pub const NEEDS_CONSENT: i32 = -32045;
/// A package or its registry failed verification (signatures, hashes, expiry,
/// versions, archive contents): nothing was installed.
pub const VERIFICATION_FAILED: i32 = -32046;
/// A paid agent without a valid licence for this user: the message says why
/// (none, expired, someone else's, forged).
pub const NEEDS_LICENCE: i32 = -32047;
