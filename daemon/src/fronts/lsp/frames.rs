//! The LSP base protocol as the editor writes it, read here rather than by
//! tower-lsp-server. Its decoder ends the server at the first malformed frame
//! (tokio-util stops a framed stream after a decode error), buffers a header or
//! a body of any size, and refuses headers it does not know (more than two, a
//! `Content-Type` without a charset). Here a bad frame costs only itself: it is
//! answered as JSON-RPC asks (parse error or invalid request, id `null` when the
//! id cannot be read) and reading goes on at the next `Content-Length`.
//!
//! [`Decoder`] is sans IO; [`read_stdin`] feeds it from a thread of its own, so a
//! read blocked on an editor that went quiet never holds up the runtime's shutdown.

use std::io::Read as _;

use serde::de::IgnoredAny;
use serde_json::Value;
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc;

/// A header block longer than this is not a header: the bytes are skipped up to
/// the next `Content-Length`.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// The largest body taken. Above it the length is not believed (a lie would make
/// the reader wait for bytes that never come): the body is skipped by scanning
/// for the next frame.
pub const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

const CONTENT_LENGTH: &[u8] = b"Content-Length";

/// What one frame of the editor's input turned out to be.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A JSON-RPC message tower-lsp-server will accept, as the editor sent it.
    Message(Vec<u8>),
    /// Not one: the error to answer it with (`id` is `null` when unknown).
    Malformed { id: Value, code: i64, message: String },
}

impl Frame {
    fn parse_error(why: impl std::fmt::Display) -> Frame {
        Frame::Malformed { id: Value::Null, code: -32700, message: format!("Parse error: {why}") }
    }
}

#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
    state: State,
}

#[derive(Default, Clone, Copy)]
enum State {
    #[default]
    Header,
    Body(usize),
    /// Looking for the next `Content-Length` after bytes that were not a frame.
    Resync,
}

impl Decoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, if the bytes pushed so far hold one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        self.next_frame_taking(|_| None)
    }

    /// As [`Decoder::next_frame`], offering each body to `take` first: a body
    /// it makes a frame of is passed on as that frame, unchecked here.
    pub fn next_frame_taking(&mut self, mut take: impl FnMut(&[u8]) -> Option<Frame>) -> Option<Frame> {
        loop {
            match self.state {
                State::Body(len) => {
                    if self.buf.len() < len {
                        return None;
                    }
                    let body: Vec<u8> = self.buf.drain(..len).collect();
                    self.state = State::Header;
                    if let Some(frame) = take(&body) {
                        return Some(frame);
                    }
                    if let Some(frame) = self.check_body(body) {
                        return Some(frame);
                    }
                }
                State::Resync => match find(&self.buf, CONTENT_LENGTH) {
                    Some(at) => {
                        self.buf.drain(..at);
                        self.state = State::Header;
                    }
                    None => {
                        // Keep what could be the start of a `Content-Length` cut in two.
                        let keep = self.buf.len().min(CONTENT_LENGTH.len() - 1);
                        self.buf.drain(..self.buf.len() - keep);
                        return None;
                    }
                },
                State::Header => {
                    let start = self.buf.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(self.buf.len());
                    self.buf.drain(..start);
                    if self.buf.is_empty() {
                        return None;
                    }
                    let window = &self.buf[..self.buf.len().min(MAX_HEADER_BYTES)];
                    let Some((head_len, sep_len)) = header_end(window) else {
                        if self.buf.len() < MAX_HEADER_BYTES {
                            return None;
                        }
                        return Some(self.resync(format!("no end of header within {MAX_HEADER_BYTES} bytes")));
                    };
                    match content_length(&self.buf[..head_len]) {
                        Ok(len) => {
                            self.buf.drain(..head_len + sep_len);
                            self.state = State::Body(len);
                        }
                        Err(why) => return Some(self.resync(why)),
                    }
                }
            }
        }
    }

    /// Gives up on the frame at the start of the buffer: reading goes on at the
    /// next `Content-Length` after its first byte.
    fn resync(&mut self, why: String) -> Frame {
        self.buf.drain(..1);
        self.state = State::Resync;
        Frame::parse_error(why)
    }

    /// A body is passed on only if tower-lsp-server will take it (anything it
    /// cannot decode would end its server).
    fn check_body(&mut self, body: Vec<u8>) -> Option<Frame> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        // `Request` takes every message tower-lsp-server takes (its responses too).
        // As JSON in full first (UTF-8, escapes): tower-lsp-server reads the whole
        // body, where `Request` skips unknown fields unchecked (found by fuzzing).
        let err = match serde_json::from_slice::<Value>(&body)
            .and_then(|_| serde_json::from_slice::<jsonrpc::Request>(&body))
        {
            Ok(_) => return Some(Frame::Message(body)),
            Err(err) => err,
        };
        // A data error may come before a syntax error further on: JSON first.
        let is_json = std::str::from_utf8(&body).is_ok_and(|text| serde_json::from_str::<IgnoredAny>(text).is_ok());
        if is_json {
            // JSON, but not a JSON-RPC 2.0 message: answered with its id if it has a usable one.
            let id = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("id").cloned())
                .filter(|id| id.is_i64() || id.is_string())
                .unwrap_or(Value::Null);
            return Some(Frame::Malformed {
                id,
                code: -32600,
                message: format!("Invalid request: not a JSON-RPC 2.0 message ({err})"),
            });
        }
        // What follows a body that is not JSON may be the rest of it (the
        // `Content-Length` claimed too little): reading goes on at the next frame.
        // One that claimed too much swallowed the frames after it: they are read
        // again from where they start.
        self.state = State::Resync;
        if let Some(at) = find(&body[1..], CONTENT_LENGTH) {
            let swallowed = &body[1 + at..];
            self.buf.splice(0..0, swallowed.iter().copied());
        }
        Some(Frame::parse_error(format!("the body is not JSON ({err})")))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Where the header block ends: its length and that of the blank line after
/// it. A blank `\n\n` is looked for only before the first `\r\n\r\n`: the
/// window holds the body after it, which has none (its line ends are
/// escaped), and scanning it for every frame was a sixth of the proxy's CPU
/// in the editor bench's burst (measured).
fn header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = find(buf, b"\r\n\r\n");
    // A `\n\n` before `\r\n\r\n` at `at` ends by `at + 1` (`buf[at]` is `\r`).
    let lf = find(&buf[..crlf.map_or(buf.len(), |at| at + 1)], b"\n\n");
    match (crlf, lf) {
        (_, Some(at)) => Some((at, 2)),
        (Some(at), None) => Some((at, 4)),
        (None, None) => None,
    }
}

/// The body length a header block gives, or why it gives none.
fn content_length(head: &[u8]) -> Result<usize, String> {
    let head = std::str::from_utf8(head).map_err(|_| "the header is not text".to_owned())?;
    let mut length = None;
    for line in head.split('\n').map(|l| l.trim_end_matches('\r')) {
        let Some((name, value)) = line.split_once(':') else {
            return Err("a header line without a colon".to_owned());
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err("a malformed header name".to_owned());
        }
        if !name.eq_ignore_ascii_case("Content-Length") {
            continue; // Content-Type and anything else: the body is UTF-8 JSON regardless.
        }
        let value = value.trim();
        let parsed = (!value.is_empty() && value.len() <= 10 && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.parse::<usize>().ok())
            .flatten()
            .filter(|len| *len <= MAX_BODY_BYTES)
            .ok_or_else(|| format!("Content-Length {value:.20} is not a length up to {MAX_BODY_BYTES}"))?;
        if length.is_some_and(|l| l != parsed) {
            return Err("two different Content-Length headers".to_owned());
        }
        length = Some(parsed);
    }
    length.ok_or_else(|| "no Content-Length header".to_owned())
}

/// Reads the editor's input on a thread of its own, framing it with [`Decoder`]
/// (each body offered to `take` first, see [`Decoder::next_frame_taking`]).
/// The channel closes at end of input.
pub fn read_stdin(frames: mpsc::Sender<Frame>, mut take: impl FnMut(&[u8]) -> Option<Frame>) {
    let mut stdin = std::io::stdin().lock();
    let mut decoder = Decoder::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match stdin.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                tracing::warn!("cannot read the editor's input: {err}");
                return;
            }
        };
        decoder.push(&chunk[..n]);
        while let Some(frame) = decoder.next_frame_taking(&mut take) {
            if let Frame::Malformed { message, .. } = &frame {
                tracing::warn!("malformed input from the editor: {message}");
            }
            if frames.blocking_send(frame).is_err() {
                return;
            }
        }
    }
}

/// The frames as tower-lsp-server reads them, each as a `Content-Length`
/// header and its body, one frame held at a time: a pipe between the two
/// (`tokio::io::duplex`) kept the largest burst's buffer for the life of the
/// process (measured: 0.84 MiB of an editor's proxy).
pub struct FrameReader {
    frames: mpsc::Receiver<Frame>,
    /// What a malformed frame is passed on as.
    to_body: fn(Frame) -> Vec<u8>,
    head: Vec<u8>,
    body: Vec<u8>,
    /// Bytes of `head` then `body` already read.
    read: usize,
}

impl FrameReader {
    pub fn new(frames: mpsc::Receiver<Frame>, to_body: fn(Frame) -> Vec<u8>) -> FrameReader {
        FrameReader { frames, to_body, head: Vec::new(), body: Vec::new(), read: 0 }
    }
}

impl tokio::io::AsyncRead for FrameReader {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return std::task::Poll::Ready(Ok(()));
        }
        loop {
            let (head, total) = (this.head.len(), this.head.len() + this.body.len());
            if this.read < total {
                let (part, at) =
                    if this.read < head { (&this.head[..], this.read) } else { (&this.body[..], this.read - head) };
                let n = (part.len() - at).min(buf.remaining());
                buf.put_slice(&part[at..at + n]);
                this.read += n;
                if this.read == total {
                    // Given back at once, not when the next frame comes.
                    this.body = Vec::new();
                    this.head.clear();
                    this.read = 0;
                }
                return std::task::Poll::Ready(Ok(()));
            }
            match this.frames.poll_recv(cx) {
                std::task::Poll::Ready(Some(frame)) => {
                    this.body = (this.to_body)(frame);
                    this.head = format!("Content-Length: {}\r\n\r\n", this.body.len()).into_bytes();
                }
                // The end of the editor's input.
                std::task::Poll::Ready(None) => return std::task::Poll::Ready(Ok(())),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    /// Everything the decoder makes of `input`, fed in pieces of `step` bytes.
    fn decode(input: &[u8], step: usize) -> Vec<Frame> {
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            decoder.push(piece);
            while let Some(f) = decoder.next_frame() {
                out.push(f);
            }
        }
        out
    }

    fn summary(frames: &[Frame]) -> Vec<String> {
        frames
            .iter()
            .map(|f| match f {
                Frame::Message(body) => String::from_utf8_lossy(body).into_owned(),
                Frame::Malformed { id, code, .. } => format!("error {code} id {id}"),
            })
            .collect()
    }

    const OK: &str = r#"{"jsonrpc":"2.0","id":7,"method":"shutdown"}"#;

    #[tokio::test]
    async fn the_reader_gives_each_frame_back_whole_in_order_whatever_the_reads() {
        use tokio::io::AsyncReadExt as _;
        let (tx, rx) = mpsc::channel(4);
        let mut reader = FrameReader::new(rx, |frame| match frame {
            Frame::Message(body) => body,
            Frame::Malformed { code, .. } => format!("malformed {code}").into_bytes(),
        });
        let big = format!(r#"{{"text":"{}"}}"#, "é".repeat(70_000));
        let sent = [OK.to_owned(), String::new(), big.clone()];
        tokio::spawn(async move {
            tx.send(Frame::Message(OK.into())).await.expect("send");
            tx.send(Frame::parse_error("bad")).await.expect("send");
            tx.send(Frame::Message(big.into_bytes())).await.expect("send");
        });
        // Small reads: a header and a body each split across many.
        let mut read = Vec::new();
        let mut chunk = [0u8; 7];
        loop {
            let n = reader.read(&mut chunk).await.expect("read");
            if n == 0 {
                break;
            }
            read.extend_from_slice(&chunk[..n]);
        }
        let expected = format!("{}{}{}", frame(&sent[0]), frame("malformed -32700"), frame(&sent[2]));
        assert_eq!(read.len(), expected.len());
        assert!(read == expected.as_bytes(), "the frames, whole and in order, then the end");
        assert!(reader.body.capacity() == 0, "no frame is held once it has been read");
    }

    #[test]
    fn bad_frames_cost_only_themselves() {
        let cases: [(&str, Vec<u8>, Vec<&str>); 9] = [
            ("plain", frame(OK).into_bytes(), vec![OK]),
            (
                "extra headers",
                format!("Content-Type: application/vscode-jsonrpc\r\nX-A: 1\r\nX-B: 2\r\n{}", frame(OK)).into_bytes(),
                vec![OK],
            ),
            (
                "non-numeric length",
                format!("Content-Length: banana\r\n\r\n{OK}{}", frame(OK)).into_bytes(),
                vec!["error -32700 id null", OK],
            ),
            (
                "length too small",
                format!("Content-Length: 5\r\n\r\n{OK}{}", frame(OK)).into_bytes(),
                vec!["error -32700 id null", OK],
            ),
            (
                "length too large",
                format!("Content-Length: 200\r\n\r\n{{}}{}{}", frame(OK), " ".repeat(200)).into_bytes(),
                vec!["error -32700 id null", OK],
            ),
            (
                "absurd length",
                format!("Content-Length: 99999999999999\r\n\r\n{}", frame(OK)).into_bytes(),
                vec!["error -32700 id null", OK],
            ),
            ("not JSON", format!("{}{}", frame("hello"), frame(OK)).into_bytes(), vec!["error -32700 id null", OK]),
            (
                "JSON, not a request",
                format!("{}{}{}", frame(r#"{"jsonrpc":"1.0","id":3}"#), frame("[1,2]"), frame(OK)).into_bytes(),
                vec!["error -32600 id 3", "error -32600 id null", OK],
            ),
            (
                "invalid UTF-8",
                [&b"Content-Length: 3\r\n\r\n\"\xff\""[..], frame(OK).as_bytes()].concat(),
                vec!["error -32700 id null", OK],
            ),
        ];
        for (name, input, expected) in cases {
            for step in [1, 7, input.len()] {
                assert_eq!(summary(&decode(&input, step)), expected, "{name}, {step} bytes at a time");
            }
        }
    }

    #[test]
    fn a_huge_header_is_skipped_without_being_kept() {
        let mut decoder = Decoder::default();
        let mut errors = 0;
        for _ in 0..1000 {
            decoder.push(&[b'x'; 4096]);
            while let Some(f) = decoder.next_frame() {
                assert!(matches!(f, Frame::Malformed { code: -32700, .. }));
                errors += 1;
            }
            assert!(decoder.buf.len() <= MAX_HEADER_BYTES + 4096, "{}", decoder.buf.len());
        }
        assert_eq!(errors, 1, "one error for one run of garbage");
        decoder.push(frame(OK).as_bytes());
        assert_eq!(decoder.next_frame(), Some(Frame::Message(OK.as_bytes().to_vec())));
    }

    /// `header_end` against the search it replaced (both kinds of blank line
    /// looked for everywhere, the first one taken), on random headers.
    #[test]
    fn the_header_end_is_the_first_blank_line_of_either_kind() {
        fn everywhere(buf: &[u8]) -> Option<(usize, usize)> {
            let at = |needle: &[u8]| buf.windows(needle.len()).position(|w| w == needle);
            match (at(b"\r\n\r\n").map(|a| (a, 4)), at(b"\n\n").map(|b| (b, 2))) {
                (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
                (a, b) => a.or(b),
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let buf: Vec<u8> = (0..len).map(|i| b"\r\na:"[((state >> (2 * i % 60)) & 3) as usize]).collect();
            assert_eq!(header_end(&buf), everywhere(&buf), "{:?}", String::from_utf8_lossy(&buf));
        }
    }
}
