//! The client's side of stdio: its input as lines (whatever they hold), our
//! output as lines, each flushed.

use std::io::BufRead as _;

use tokio::io::AsyncWriteExt as _;

/// A longer line from the client is not read into memory: it is skipped and
/// answered with a parse error.
const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// The client's lines, read on a thread of their own (a read blocked on a quiet
/// client must not hold up the runtime's shutdown). Blank lines are skipped. A
/// line that is not UTF-8, or is over [`MAX_LINE_BYTES`], is passed on as a
/// short note that is not JSON, which the ACP library answers with a parse
/// error (-32700); the connection goes on. The stream ends at end of input.
pub(super) fn client_lines() -> impl futures::Stream<Item = std::io::Result<String>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<String>>(16);
    let reader = std::thread::Builder::new().name("paired-acp-stdin".to_owned()).spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let line = match read_line(&mut stdin, MAX_LINE_BYTES) {
                Ok(Some(line)) => line,
                Ok(None) => return,
                Err(err) => {
                    let _ = tx.blocking_send(Err(err));
                    return;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            if tx.blocking_send(Ok(line)).is_err() {
                return;
            }
        }
    });
    if let Err(err) = reader {
        tracing::error!("cannot start reading the client's input: {err}");
    }
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|line| (line, rx)) })
}

/// One line of `input` without its line ending; `None` at end of input.
fn read_line(input: &mut impl std::io::BufRead, max: usize) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = std::io::Read::take(&mut *input, max as u64 + 1).read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') && line.len() > max {
        // The rest of the line is read and dropped, a buffer at a time.
        input.skip_until(b'\n')?;
        return Ok(Some(format!("<a line of more than {max} bytes, not read>")));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(Some(
        String::from_utf8(line)
            .unwrap_or_else(|err| format!("<a line of {} bytes that is not UTF-8>", err.as_bytes().len())),
    ))
}

/// Lines to the client on stdout, each flushed as it is written.
pub(super) fn client_output() -> impl futures::Sink<String, Error = std::io::Error> + Send + 'static {
    futures::sink::unfold(tokio::io::stdout(), |mut out, line: String| async move {
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
        out.flush().await?;
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_whatever_they_hold() {
        let input: &[u8] = b"{\"a\":1}\r\n\xff\xfe\n0123456789abcdef\nlast";
        let mut input = std::io::BufReader::with_capacity(4, input);
        let mut lines = Vec::new();
        while let Some(line) = read_line(&mut input, 12).expect("read") {
            lines.push(line);
        }
        assert_eq!(
            lines,
            ["{\"a\":1}", "<a line of 2 bytes that is not UTF-8>", "<a line of more than 12 bytes, not read>", "last"]
        );
    }
}
