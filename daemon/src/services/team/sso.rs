//! `paired team join URL --sso`: sign in with the organisation's identity
//! provider in the browser, as `gh auth login` does — the hub sends the browser
//! back to a one-shot listener on this machine's loopback (RFC 8252) with a
//! one-time code, which is traded for this machine's device token.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{Membership, TeamError, adopt, ready_to_join, request};
use crate::platform::{os, paths::Paths};

/// How long the browser sign-in may take.
const SIGN_IN: Duration = Duration::from_secs(300);

/// Signs in through the browser: `open` is given the address to visit (it
/// opens a browser, or prints it).
pub async fn join(paths: &Paths, hub: &str, open: impl FnOnce(&str)) -> Result<Membership, TeamError> {
    let hub = ready_to_join(paths, hub).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| TeamError::State(anyhow::anyhow!("cannot listen on loopback for the sign-in: {err}")))?;
    let port = listener.local_addr().map_err(|err| TeamError::State(err.into()))?.port();
    let back = format!("http://127.0.0.1:{port}/callback");
    let mut url = url::Url::parse(&format!("{hub}/auth/login")).map_err(|err| TeamError::BadUrl(err.to_string()))?;
    url.query_pairs_mut().append_pair("redirect", &back).append_pair("device", &os::hostname());
    open(url.as_str());
    let code = tokio::time::timeout(SIGN_IN, wait_for_code(&listener))
        .await
        .map_err(|_| TeamError::Refused(format!("no sign-in within {} minutes", SIGN_IN.as_secs() / 60)))??;
    let reply =
        request(&hub, reqwest::Method::POST, "/api/v1/auth/exchange", None, Some(json!({"code": code}))).await?;
    adopt(paths, &hub, &reply).await
}

/// The first request to `/callback` with a code (or an error); anything else
/// (a favicon) gets a 404 and is waited past.
async fn wait_for_code(listener: &tokio::net::TcpListener) -> Result<String, TeamError> {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let mut head = Vec::new();
        let mut chunk = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => head.extend_from_slice(&chunk[..n]),
                _ => break,
            }
        }
        let text = String::from_utf8_lossy(&head);
        let target = text.lines().next().and_then(|line| line.split_whitespace().nth(1)).unwrap_or("");
        let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else { continue };
        if url.path() != "/callback" {
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            continue;
        }
        let pairs: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        let (title, result) = match (pairs.get("code"), pairs.get("error")) {
            (Some(code), _) => ("Signed in: you can close this tab and go back to the terminal.", Ok(code.clone())),
            (None, Some(error)) => ("The sign-in failed: see the terminal.", Err(TeamError::Refused(error.clone()))),
            (None, None) => ("The sign-in failed: see the terminal.", Err(TeamError::Protocol("no code".into()))),
        };
        let body = format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>PAIRED</title><p>{title}</p></html>"
        );
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Security-Policy: default-src 'none'\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        return result;
    }
}
