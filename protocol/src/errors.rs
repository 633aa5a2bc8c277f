//! JSON-RPC error codes PAIRED uses beyond the standard ones.
//!
//! Standard codes: -32700 parse error, -32600 invalid request, -32601 method not
//! found, -32602 invalid params, -32603 internal error. PAIRED's own live in the
//! implementation-defined server range -32000..=-32099.

/// The handler failed unexpectedly (it panicked); the daemon keeps serving.
pub const INTERNAL: i32 = -32603;
pub const INVALID_PARAMS: i32 = -32602;
pub const INVALID_REQUEST: i32 = -32600;
/// The request is well-formed but too large or too deeply nested.
pub const LIMIT_EXCEEDED: i32 = -32005;
/// The request names something (a document, a client) the daemon does not have.
pub const NOT_FOUND: i32 = -32004;
/// The request conflicts with current state, e.g. a document version going backwards.
pub const CONFLICT: i32 = -32009;
/// The daemon cannot be reached (used by the LSP proxy).
pub const DAEMON_UNAVAILABLE: i32 = -32010;
