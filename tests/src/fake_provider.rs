//! A model provider on loopback for tests and benchmarks: scripted per
//! connection, speaking the OpenAI and Anthropic streaming wire formats.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// What the fake provider does with one connection.
#[derive(Clone)]
pub enum Reply {
    /// 200 with these SSE events (each a full `event:`/`data:` block).
    Sse(Vec<String>),
    /// Some events, then the connection closes mid-response.
    SseThenDrop(Vec<String>),
    /// Some events, then nothing for a long time.
    SseThenStall(Vec<String>),
    Status(u16, Vec<(&'static str, &'static str)>, &'static str),
    /// Reads the request and never answers.
    Hang,
    /// 200 with this content type and these chunks, `gap` apart; then, with
    /// `stall`, nothing until the client goes (when is `closed_at`).
    Stream {
        content_type: &'static str,
        chunks: Vec<String>,
        gap: Duration,
        stall: bool,
    },
}

#[derive(Default)]
pub struct Fake {
    pub script: Mutex<VecDeque<Reply>>,
    /// Each request: (head, body).
    pub requests: Mutex<Vec<(String, Value)>>,
    /// Set when a stalled connection was closed by the client.
    pub closed_by_client: Mutex<bool>,
    /// Answer every request with this when the script is empty.
    pub fallback: Mutex<Option<Reply>>,
    /// Requests whose body contains this text are answered only after the delay.
    pub slow_when: Mutex<Option<(String, Duration)>>,
    /// When a `Reply::Stream` connection was last closed by the client before
    /// its stream ended, and how many chunks it had been sent.
    pub closed_at: Mutex<Option<(Instant, usize)>>,
}

/// A config whose default provider is the fake one on `port`.
pub fn config(port: u16) -> String {
    format!(
        "[agents]\nprovider = \"fake\"\n[providers.fake]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"m\"\n"
    )
}

pub async fn serve_fake(replies: Vec<Reply>) -> (u16, Arc<Fake>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let fake = Arc::new(Fake { script: Mutex::new(replies.into()), ..Fake::default() });
    let shared = fake.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let fake = shared.clone();
            tokio::spawn(async move { handle(stream, fake).await });
        }
    });
    (port, fake)
}

async fn handle(mut stream: TcpStream, fake: Arc<Fake>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head, body) = loop {
        let Ok(n) = stream.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                let body = serde_json::from_slice(&buffer[end + 4..end + 4 + length]).unwrap_or(Value::Null);
                break (head, body);
            }
        }
    };
    // The model list (`paired setup` asks it), outside the script.
    if head.starts_with("GET ") && head.split_whitespace().nth(1).is_some_and(|p| p.ends_with("/models")) {
        let body =
            r#"{"object":"list","data":[{"id":"fake-coder","object":"model"},{"id":"fake-chat","object":"model"}]}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(reply.as_bytes()).await;
        return;
    }
    let slow = fake.slow_when.lock().expect("lock").clone();
    if let Some((text, delay)) = slow
        && body.to_string().contains(&text)
    {
        tokio::time::sleep(delay).await;
    }
    fake.requests.lock().expect("lock").push((head, body));
    let scripted = fake.script.lock().expect("lock").pop_front();
    let reply = scripted.or_else(|| fake.fallback.lock().expect("lock").clone()).unwrap_or(Reply::Status(
        500,
        vec![],
        "no more script",
    ));
    let sse_head =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
    match reply {
        Reply::Sse(events) => {
            let _ = stream.write_all(sse_head.as_bytes()).await;
            for event in events {
                let _ = stream.write_all(event.as_bytes()).await;
                let _ = stream.flush().await;
            }
        }
        Reply::SseThenDrop(events) => {
            let _ = stream.write_all(sse_head.as_bytes()).await;
            for event in events {
                let _ = stream.write_all(event.as_bytes()).await;
            }
            let _ = stream.flush().await;
            // Dropped without the end of the stream.
        }
        Reply::SseThenStall(events) => {
            let _ = stream.write_all(sse_head.as_bytes()).await;
            for event in events {
                let _ = stream.write_all(event.as_bytes()).await;
            }
            let _ = stream.flush().await;
            let mut probe = [0u8; 1];
            let closed = matches!(
                tokio::time::timeout(Duration::from_secs(30), stream.read(&mut probe)).await,
                Ok(Ok(0) | Err(_))
            );
            *fake.closed_by_client.lock().expect("lock") = closed;
        }
        Reply::Status(code, headers, body) => {
            let mut head = format!(
                "HTTP/1.1 {code} Status\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
        }
        Reply::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
        Reply::Stream { content_type, chunks, gap, stall } => {
            stream_chunks(stream, &fake, content_type, chunks, gap, stall).await
        }
    }
}

/// Writes `chunks` `gap` apart, noticing when the client goes before the end.
async fn stream_chunks(
    mut stream: TcpStream,
    fake: &Fake,
    content_type: &str,
    chunks: Vec<String>,
    gap: Duration,
    stall: bool,
) {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let (mut reader, mut writer) = stream.into_split();
    let closed = async move {
        let mut probe = [0u8; 64];
        loop {
            match reader.read(&mut probe).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(_) => {}
            }
        }
    };
    tokio::pin!(closed);
    let mut sent = 0;
    for chunk in chunks {
        if sent > 0 && !gap.is_zero() {
            tokio::select! {
                at = &mut closed => { *fake.closed_at.lock().expect("lock") = Some((at, sent)); return; }
                () = tokio::time::sleep(gap) => {}
            }
        }
        if writer.write_all(chunk.as_bytes()).await.is_err() || writer.flush().await.is_err() {
            *fake.closed_at.lock().expect("lock") = Some((Instant::now(), sent));
            return;
        }
        sent += 1;
    }
    if stall {
        tokio::select! {
            at = &mut closed => *fake.closed_at.lock().expect("lock") = Some((at, sent)),
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

/// An OpenAI-compatible `/completions` stream of these pieces.
pub fn openai_fim(pieces: &[&str]) -> Vec<String> {
    let mut events: Vec<String> = pieces
        .iter()
        .map(|p| format!("data: {}\n\n", json!({"choices": [{"index": 0, "text": p, "finish_reason": null}]})))
        .collect();
    events.push(format!("data: {}\n\n", json!({"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})));
    events.push("data: [DONE]\n\n".into());
    events
}

/// llama.cpp's `/infill` stream of these pieces.
pub fn llamacpp_infill(pieces: &[&str]) -> Vec<String> {
    let mut events: Vec<String> =
        pieces.iter().map(|p| format!("data: {}\n\n", json!({"content": p, "stop": false}))).collect();
    events.push(format!("data: {}\n\n", json!({"content": "", "stop": true})));
    events
}

/// Ollama's `/api/generate` stream (one JSON object per line) of these pieces.
pub fn ollama_generate(pieces: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> =
        pieces.iter().map(|p| format!("{}\n", json!({"model": "m", "response": p, "done": false}))).collect();
    lines.push(format!("{}\n", json!({"model": "m", "response": "", "done": true})));
    lines
}

pub fn openai_text(pieces: &[&str]) -> Vec<String> {
    let mut events: Vec<String> = pieces
        .iter()
        .map(|p| {
            format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]}))
        })
        .collect();
    events.push(format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})));
    events.push("data: [DONE]\n\n".into());
    events
}

/// One tool call as OpenAI streams it: the name first, then the arguments in
/// pieces of about `piece` bytes (cut on character boundaries).
pub fn openai_tool_call_in_pieces(name: &str, arguments: &str, piece: usize) -> Vec<String> {
    let chunk = |function: Value| {
        format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": function}]}}]})
        )
    };
    let first = json!({"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": name, "arguments": ""}}]}}]});
    let mut events = vec![format!("data: {first}\n\n")];
    let mut rest = arguments;
    while !rest.is_empty() {
        let mut cut = piece.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (head, tail) = rest.split_at(cut);
        events.push(chunk(json!({"arguments": head})));
        rest = tail;
    }
    events
        .push(format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})));
    events.push("data: [DONE]\n\n".into());
    events
}

pub fn openai_tool_call(name: &str, arguments: &str) -> Vec<String> {
    let (first, second) = arguments.split_at(arguments.len() / 2);
    vec![
        format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": name, "arguments": first}}]}}]})
        ),
        format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": second}}]}}]})
        ),
        format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})),
        "data: [DONE]\n\n".into(),
    ]
}

pub fn anthropic(blocks: &[Value], stop: &str) -> Vec<String> {
    let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut events = vec![
        event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "role": "assistant", "content": []}}),
        ),
        event("ping", json!({"type": "ping"})),
    ];
    for (index, block) in blocks.iter().enumerate() {
        if let Some(text) = block["text"].as_str() {
            events.push(event(
                "content_block_start",
                json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
            ));
            for piece in text.split_inclusive(' ') {
                events.push(event("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}})));
            }
        } else {
            events.push(event("content_block_start", json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})));
            let input = block["input"].to_string();
            let (a, b) = input.split_at(input.len() / 2);
            for part in [a, b] {
                events.push(event("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": part}})));
            }
        }
        events.push(event("content_block_stop", json!({"type": "content_block_stop", "index": index})));
    }
    events.push(event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 5}}),
    ));
    events.push(event("message_stop", json!({"type": "message_stop"})));
    events
}

/// Several tool calls in one OpenAI assistant turn.
pub fn openai_tool_calls(calls: &[(&str, &str)]) -> Vec<String> {
    let mut events: Vec<String> = calls
        .iter()
        .enumerate()
        .map(|(index, (name, arguments))| {
            format!(
                "data: {}\n\n",
                json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, "id": format!("call_{index}"), "type": "function", "function": {"name": name, "arguments": arguments}}]}}]})
            )
        })
        .collect();
    events
        .push(format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})));
    events.push("data: [DONE]\n\n".into());
    events
}

/// The provider alone: one streamed completion over a fresh connection (as the
/// daemon's requests get from this server, which closes each one).
pub async fn direct_call(port: u16) -> (Duration, Duration) {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let body = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut first = None;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.expect("read");
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if first.is_none() && buffer.windows(5).any(|w| w == b"data:") {
            first = Some(started.elapsed());
        }
    }
    (first.unwrap_or_default(), started.elapsed())
}

/// The tool results an OpenAI-format request carries back to the model, in order.
pub fn tool_results(request: &serde_json::Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or("").to_owned())
        .collect()
}
