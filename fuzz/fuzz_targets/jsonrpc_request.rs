//! JSON-RPC requests to the daemon (HTTP and WebSocket, any local client with
//! the token): the daemon's real `RpcModule` (`daemon::server::router::module`), called
//! through jsonrpsee's own request parsing (`raw_json_request`), and the
//! params parser (`daemon::server::router::parse_params`) for every method of
//! `protocol::for_each_method!`.
//!
//! Handlers run for every method whose work stays in the daemon's state and
//! its temporary folder. Methods that start background work or reach beyond it
//! (`client/attach` waits for events; `workspaces/add` indexes any folder named;
//! `agents/run`, `workflows/run`, `sessions/resume`, `agents/generate`,
//! `market/install|update`, `daemon/shutdown`) have their params parsed only.
//!
//! Invariant: every request gets a JSON-RPC reply (result or error), never a
//! panic (in the daemon `RpcLayer` would turn one into an error reply, but a
//! panic is still a bug).
#![no_main]

use std::sync::OnceLock;

use daemon::server::daemon::Daemon;
use jsonrpsee::{RpcModule, types::Params};
use libfuzzer_sys::fuzz_target;
use protocol::Method as _;

const PARSE_ONLY: [&str; 10] = [
    "client/attach",
    "workspaces/add",
    "agents/run",
    "agents/generate",
    "workflows/run",
    "sessions/resume",
    "market/install",
    "market/update",
    "daemon/shutdown",
    "client/detach",
];

fn parse_for(method: &str, params: &Params<'_>) {
    macro_rules! method {
        ($m:path) => {
            if method == <$m>::NAME {
                let _ = daemon::server::router::parse_params::<<$m as protocol::Method>::Params>(method, params);
            }
        };
    }
    macro_rules! subscription {
        ($s:path) => {
            if method == <$s as protocol::Subscription>::SUBSCRIBE {
                let _ = daemon::server::router::parse_params::<<$s as protocol::Subscription>::Params>(method, params);
            }
        };
    }
    protocol::for_each_method!(method, subscription);
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = paired_fuzz::text(data) else { return };
    // jsonrpsee's parse, as the server does it.
    let Ok(request) = serde_json::from_str::<jsonrpsee::types::Request<'_>>(text) else { return };
    let method = request.method.as_ref();
    let params = Params::new(request.params.as_ref().map(|p| p.get()));
    parse_for(method, &params);
    if PARSE_ONLY.contains(&method) || method.starts_with("debug/") {
        return;
    }
    // Built once: registering every method (and the OpenRPC document) per
    // input would be most of the time spent.
    static MODULE: OnceLock<RpcModule<Daemon>> = OnceLock::new();
    let module = MODULE.get_or_init(|| daemon::server::router::module(paired_fuzz::daemon()));
    let request = text.to_owned();
    let (reply, _) = paired_fuzz::on_worker(async move { module.raw_json_request(&request, 1).await })
        .expect("a request that parsed once parses again");
    let reply: serde_json::Value = serde_json::from_str(reply.get()).expect("the reply is JSON");
    assert!(reply.get("result").is_some() || reply.get("error").is_some(), "neither result nor error: {reply}");
});
