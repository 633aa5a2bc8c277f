//! PAIRED's own methods, forwarded to the daemon as the editor sent them: after
//! the edits that came before, refused here when over the daemon's limit,
//! retried once after a dropped connection when they can be repeated, and
//! cancelled (the run in the daemon too) on `$/cancelRequest`.

use std::time::Duration;

use jsonrpsee::core::client::{ClientT, Error as ClientError};
use serde_json::Value;
use tower_lsp_server::jsonrpc::{self, ErrorCode};

use super::{limits::ENVELOPE_BYTES, proxy::Proxy};
use crate::server::client::{ByName, Raw};

/// How long a forwarded request waits for the daemon to come (back) up.
const CONNECT_WAIT: Duration = Duration::from_secs(15);

impl Proxy {
    pub(super) fn cancel(&self, params: Option<&Value>) {
        let Some(id) = params.and_then(|p| p.get("id")) else {
            return;
        };
        // The editor typed on: the daemon stops the completion and its model
        // request (before the local work is aborted, which forgets it).
        self.cancel_completion(&id.to_string());
        if let Some(handle) = self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&id.to_string()) {
            handle.abort();
        }
        // The editor gave up on an agent run: so does the daemon (and its model call).
        let key = serde_json::to_string(id).unwrap_or_default();
        if let Some(run_id) = self.runs.lock().unwrap_or_else(|p| p.into_inner()).remove(&key)
            && let Some(connection) = self.connection.borrow().clone()
        {
            tokio::spawn(async move {
                let params = protocol::agents::RunRef { run_id: run_id.clone(), wait: false };
                if let Err(err) = connection
                    .request::<Value, _>(<protocol::agents::CancelRun as protocol::Method>::NAME, ByName(&params))
                    .await
                {
                    tracing::warn!("cannot cancel run {run_id}: {err}");
                }
            });
        }
    }

    /// Forwards a custom request to the daemon, waiting for it to come up, and
    /// retrying once if the connection drops mid-request (when it can be repeated).
    pub(super) async fn forward(&self, method: &str, params: Option<Value>, after_seq: u64) -> jsonrpc::Result<Value> {
        let params = params.filter(|p| !p.is_null());
        let raw = params
            .as_ref()
            .map(serde_json::value::to_raw_value)
            .transpose()
            .map_err(|err| jsonrpc::Error::invalid_params(err.to_string()))?;
        // The daemon would refuse it, and the connection would go with it.
        let bytes = ENVELOPE_BYTES + method.len() + raw.as_ref().map_or(0, |r| r.get().len());
        self.within_limit(method, bytes)?;
        // Answer about the text the editor had when it asked, not an older one.
        let mut sent = self.sent_through.subscribe();
        if tokio::time::timeout(CONNECT_WAIT, sent.wait_for(|s| *s >= after_seq)).await.is_err() {
            return Err(daemon_unavailable(format!(
                "{method}: the daemon has not taken the editor's latest changes within {}s",
                CONNECT_WAIT.as_secs()
            )));
        }
        for attempt in 0..2 {
            let Some(connection) = self.connected(CONNECT_WAIT).await else {
                return Err(daemon_unavailable(format!(
                    "the PAIRED daemon did not answer within {}s; run `paired doctor`",
                    CONNECT_WAIT.as_secs()
                )));
            };
            // This daemon may take less than the default the check above used
            // (it says so when the proxy attaches).
            self.within_limit(method, bytes)?;
            match connection.request::<Value, _>(method, Raw(raw.clone())).await {
                Ok(value) => return Ok(value),
                Err(ClientError::Call(err)) => {
                    return Err(jsonrpc::Error {
                        code: ErrorCode::from(i64::from(err.code())),
                        message: err.message().to_owned().into(),
                        data: err.data().and_then(|d| serde_json::from_str(d.get()).ok()),
                    });
                }
                // Only a request that can be repeated is: a second `agents/run`
                // or `workflows/run` would start the work twice if the first
                // daemon had taken it before the connection dropped.
                Err(err) if attempt == 0 && matches!(err, ClientError::RestartNeeded(_)) && repeatable(method) => {
                    tracing::info!(method, "daemon connection dropped mid-request; retrying after reconnect");
                    self.drop_connection(&connection);
                }
                Err(err) => return Err(daemon_unavailable(format!("{method}: {err}"))),
            }
        }
        Err(daemon_unavailable(format!("{method}: the daemon connection dropped twice")))
    }
}

impl Proxy {
    /// Refuses a request the daemon would refuse by dropping the connection.
    fn within_limit(&self, method: &str, bytes: usize) -> jsonrpc::Result<()> {
        if bytes <= self.request_limit() {
            return Ok(());
        }
        Err(jsonrpc::Error {
            code: ErrorCode::ServerError(i64::from(protocol::errors::LIMIT_EXCEEDED)),
            message: format!(
                "{method}: the request is {bytes} bytes, over the daemon's limit of {} (server.max_request_bytes)",
                self.request_limit()
            )
            .into(),
            data: None,
        })
    }
}

fn daemon_unavailable(message: String) -> jsonrpc::Error {
    jsonrpc::Error {
        code: ErrorCode::ServerError(i64::from(protocol::errors::DAEMON_UNAVAILABLE)),
        message: message.into(),
        data: None,
    }
}

/// Requests that start work (or answer a question) must not be sent twice.
fn repeatable(method: &str) -> bool {
    ![
        <protocol::agents::Run as protocol::Method>::NAME,
        <protocol::workflows::Run as protocol::Method>::NAME,
        <protocol::workflows::ResumeSession as protocol::Method>::NAME,
        <protocol::workflows::Decide as protocol::Method>::NAME,
    ]
    .contains(&method)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_requests_that_start_nothing_are_retried_after_a_dropped_connection() {
        for method in ["context/build", "documents/get", "sessions/get", "runs/get", "agents/list"] {
            assert!(super::repeatable(method), "{method}");
        }
        for method in ["agents/run", "workflows/run", "sessions/resume", "sessions/decide"] {
            assert!(!super::repeatable(method), "{method}");
        }
    }
}
