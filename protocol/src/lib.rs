//! PAIRED's wire protocol: the parameters and results of every JSON-RPC method,
//! subscription and notification, shared by the daemon, the `paired` CLI, the LSP
//! proxy and the tests.
//!
//! Every method is a zero-sized type implementing [`Method`] (or [`Subscription`]);
//! its name follows one scheme, `area/verb`, used identically over JSON-RPC and as an
//! LSP custom request. [`for_each_method!`] lists them all: the OpenRPC document
//! ([`openrpc::document`]) and the daemon's router are both generated from that one
//! list, so the description cannot drift from what is served.
//!
//! This crate is plain data: no IO, no async, no daemon logic.

pub mod agents;
pub mod chat;
pub mod client;
pub mod completion;
pub mod console;
pub mod context;
pub mod daemon;
pub mod documents;
pub mod errors;
pub mod market;
pub mod openrpc;
pub mod workflows;

use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};

/// Version of the wire protocol. Bumped on any incompatible change to a method
/// already listed here; adding a method or an optional field does not bump it.
pub const PROTOCOL_VERSION: u32 = 1;

/// A request/response method.
pub trait Method {
    /// Wire name, `area/verb`.
    const NAME: &'static str;
    /// One line for humans, copied into the OpenRPC document.
    const SUMMARY: &'static str;
    type Params: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static;
    type Result: Serialize + DeserializeOwned + JsonSchema + Send + Clone + 'static;
}

/// A subscription: a method that opens a stream of notifications on a WebSocket.
pub trait Subscription {
    const SUBSCRIBE: &'static str;
    const NOTIFICATION: &'static str;
    const UNSUBSCRIBE: &'static str;
    const SUMMARY: &'static str;
    type Params: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static;
    type Item: Serialize + DeserializeOwned + JsonSchema + Send + Clone + 'static;
}

/// Parameters of a method that takes none. Accepts `null`, `[]` and `{}` on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
pub struct NoParams {}

/// Calls `$callback!(Type)` for every [`Method`] of the protocol, then
/// `$sub_callback!(Type)` for every [`Subscription`]. Adding a method means adding it
/// here; the OpenRPC document, the daemon router test and the LSP proxy follow.
#[macro_export]
macro_rules! for_each_method {
    ($callback:ident, $sub_callback:ident) => {
        $callback!($crate::daemon::Status);
        $callback!($crate::daemon::Shutdown);
        $callback!($crate::documents::Open);
        $callback!($crate::documents::Change);
        $callback!($crate::documents::Close);
        $callback!($crate::documents::Sync);
        $callback!($crate::documents::Get);
        $callback!($crate::documents::List);
        $callback!($crate::context::Outline);
        $callback!($crate::context::Symbols);
        $callback!($crate::context::Build);
        $callback!($crate::context::AddWorkspace);
        $callback!($crate::context::ListWorkspaces);
        $callback!($crate::completion::Inline);
        $callback!($crate::completion::Cancel);
        $callback!($crate::chat::Send);
        $callback!($crate::chat::List);
        $callback!($crate::chat::Get);
        $callback!($crate::agents::List);
        $callback!($crate::agents::Problems);
        $callback!($crate::agents::Describe);
        $callback!($crate::agents::Run);
        $callback!($crate::agents::GetRun);
        $callback!($crate::agents::CancelRun);
        $callback!($crate::agents::ListRuns);
        $callback!($crate::agents::Generate);
        $callback!($crate::agents::Feedback);
        $callback!($crate::workflows::List);
        $callback!($crate::workflows::Run);
        $callback!($crate::workflows::ListSessions);
        $callback!($crate::workflows::GetSession);
        $callback!($crate::workflows::ResumeSession);
        $callback!($crate::workflows::Decide);
        $callback!($crate::market::Search);
        $callback!($crate::market::Recommend);
        $callback!($crate::market::Info);
        $callback!($crate::market::Install);
        $callback!($crate::market::Update);
        $callback!($crate::market::Remove);
        $callback!($crate::market::Rollback);
        $callback!($crate::market::ListInstalled);
        $callback!($crate::market::Usage);
        $callback!($crate::console::Login);
        $sub_callback!($crate::client::Attach);
    };
}

/// A generated JSON document in one canonical form: object keys sorted and
/// `required` lists sorted, whatever order serde_json keeps maps in (a
/// dependency can turn on its `preserve_order` feature for the whole build).
pub fn canonical_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut sorted = serde_json::Map::new();
            for (key, value) in entries {
                let value = match (key.as_str(), value) {
                    ("required", Value::Array(mut names)) if names.iter().all(Value::is_string) => {
                        names.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                        Value::Array(names)
                    }
                    (_, value) => canonical_json(value),
                };
                sorted.insert(key, value);
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical_json).collect()),
        other => other,
    }
}
