//! The daemon's JSON-RPC server: the accept loop ([`admission`]), the
//! transport and its guard ([`transport`]), the method router ([`router`]),
//! the composition root that owns the services ([`daemon`]), the web
//! console on the same port ([`console`]), and the client side every front
//! uses to reach a daemon ([`client`]).

pub mod admission;
pub mod client;
pub mod console;
pub mod daemon;
pub mod errors;
mod hooks;
pub mod router;
pub mod transport;
